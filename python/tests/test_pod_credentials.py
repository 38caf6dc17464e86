"""ferry.Client() and the tracking functions inside a notebook's pod, with the credentials ferry gives it,
against a real `ferry server --kube off`.

A notebook's pod gets FERRY_SERVER, FERRY_TOKEN, FERRY_TENANT, MLFLOW_TRACKING_URI and
MLFLOW_TRACKING_TOKEN (runtime/notebooks/token.go); its token is its creator's role in that one
tenant, at most editor, and is revoked when the notebook is deleted. With --kube off no controller
mints it, so the test writes it into the database as store.MintNotebookToken does.
"""

from __future__ import annotations

import os
import tempfile
import unittest

import support

import ferry

shared = support.SharedServer()
setUpModule, tearDownModule = shared.start, shared.stop

IMAGE = "ferry.local/workload:1"


class NotebookPodTest(support.TenantTestCase):
    shared = shared
    tenant_prefix = "pod"

    def setUp(self) -> None:
        super().setUp()
        created = self.admin.create_user(ferry.UserCreate(name=f"dev-{self.tenant}"))
        self.dev_name = created.user.name
        self.dev = ferry.Client(self.server.url, created.token, timeout=10)
        self.admin.put_member(self.tenant, self.dev_name, "editor")
        self.dev.create_notebook(self.tenant, ferry.NotebookCreate(name="nb", image=IMAGE))
        self.secret = self.server.mint_notebook_token(self.tenant, "nb", self.dev_name)
        self.in_pod(self.secret)

    def in_pod(self, secret: str) -> None:
        """This test's environment is the notebook pod's (and no CLI config)."""
        self.patch_env({
            "FERRY_SERVER": self.server.url, "FERRY_TOKEN": secret, "FERRY_TENANT": self.tenant,
            "MLFLOW_TRACKING_URI": f"{self.server.url}/mlflow/{self.tenant}", "MLFLOW_TRACKING_TOKEN": secret,
            "MLFLOW_RUN_ID": "", "FERRY_CONTEXT": "", "FERRY_CONFIG": os.path.join(tempfile.gettempdir(), "no-ferry-config.yaml"),
        })
        ferry.set_default_client(None)
        self.addCleanup(ferry.set_default_client, None)

    def test_the_client_takes_the_pods_server_token_and_tenant(self) -> None:
        c = ferry.Client()
        self.assertEqual((c.server, c.tenant), (self.server.url, self.tenant))
        job = c.submit_job(c.tenant, ferry.JobSubmit(name="train", image=IMAGE, command=["true"]))
        self.assertEqual(job.created_by, self.dev_name, "the token acts as the notebook's creator")
        self.assertEqual([j.name for j in c.list_jobs(self.tenant)], ["train"])
        self.assertEqual(c.get_notebook(self.tenant, "nb").name, "nb")

    def test_the_token_acts_only_in_its_tenant(self) -> None:
        other = f"{self.tenant}-o"
        self.admin.create_tenant(ferry.TenantCreate(name=other))
        self.addCleanup(self.admin.delete_tenant, other)
        self.admin.put_member(other, self.dev_name, "editor")
        self.assertEqual(list(self.dev.list_jobs(other)), [], "the user itself may read the other tenant")
        c = ferry.Client()
        with self.assertRaises(ferry.FerryError) as cm:
            list(c.list_jobs(other))
        self.assertEqual(cm.exception.status, 404, str(cm.exception))
        with self.assertRaises(ferry.FerryError) as cm:
            c.create_token(ferry.TokenCreate(name="escape"))
        self.assertEqual(cm.exception.status, 403, str(cm.exception))
        self.assertIn("notebook", str(cm.exception))

    def test_an_admins_notebook_token_is_at_most_editor(self) -> None:
        self.admin.create_notebook(self.tenant, ferry.NotebookCreate(name="nb-admin", image=IMAGE))
        self.in_pod(self.server.mint_notebook_token(self.tenant, "nb-admin", "admin"))
        c = ferry.Client()
        c.submit_job(self.tenant, ferry.JobSubmit(name="train", image=IMAGE, command=["true"]))   # editor: yes
        with self.assertRaises(ferry.FerryError) as cm:
            c.put_member(self.tenant, self.dev_name, "owner")                                    # owner: no
        self.assertEqual(cm.exception.status, 403, str(cm.exception))
        self.assertEqual({m.user: m.role for m in self.admin.list_members(self.tenant)}[self.dev_name], "editor")

    def test_a_cell_logs_metrics_and_registers_a_model_with_the_pods_token(self) -> None:
        with ferry.start_run(experiment="notebook") as run:
            ferry.log_param("C", 0.5)
            for step, acc in enumerate([0.8, 0.9]):
                ferry.log_metric("accuracy", acc, step=step)
            with tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, "model.pkl")
                with open(path, "wb") as f:
                    f.write(b"a pickled model")
                ferry.log_artifact(path, "model/model.pkl")
            version = ferry.register_model("digits")
        self.assertEqual(version, 1)
        got = self.admin.get_run(self.tenant, run.run_id)
        self.assertEqual((got.status, got.user, got.params), ("FINISHED", self.dev_name, {"C": "0.5"}))
        self.assertEqual([p.value for p in self.admin.metric_history(self.tenant, run.run_id, "accuracy")], [0.8, 0.9])
        mv = self.admin.get_model_version(self.tenant, "digits", 1)
        self.assertEqual(mv.run_id, run.run_id)

    def test_deleting_the_notebook_revokes_its_token(self) -> None:
        c = ferry.Client()
        self.assertEqual(list(c.list_jobs(self.tenant)), [])
        self.dev.delete_notebook(self.tenant, "nb")
        with self.assertRaises(ferry.FerryError) as cm:
            list(c.list_jobs(self.tenant))
        self.assertEqual(cm.exception.status, 401, str(cm.exception))
        with self.assertRaises(ferry.FerryError) as cm:
            ferry.start_run(experiment="after")   # the tracking side refuses it too
        self.assertEqual(cm.exception.status, 401, str(cm.exception))
        self.assertIsNone(ferry.current_run())
        self.assertEqual(list(self.dev.list_jobs(self.tenant)), [], "the user's own token still works")


class JobPodTest(support.TenantTestCase):
    shared = shared
    tenant_prefix = "jpod"

    def test_a_client_without_a_server_in_a_jobs_pod_says_what_its_token_does(self) -> None:
        # A job's pod has MLFLOW_* (a run-scoped token) and FERRY_TENANT, no FERRY_SERVER/FERRY_TOKEN.
        self.patch_env({"FERRY_SERVER": "", "FERRY_TOKEN": "", "FERRY_CONTEXT": "", "FERRY_TENANT": self.tenant,
                        "FERRY_CONFIG": os.path.join(tempfile.gettempdir(), "no-ferry-config.yaml"),
                        "MLFLOW_TRACKING_URI": f"{self.server.url}/mlflow/{self.tenant}", "MLFLOW_RUN_ID": "r1",
                        "MLFLOW_TRACKING_TOKEN": "ferry_x"})
        with self.assertRaises(ferry.ConfigError) as cm:
            ferry.Client()
        self.assertIn("no ferry server", str(cm.exception))
        self.assertIn("writes only to its run: use ferry.log_metric", str(cm.exception))
        self.patch_env({"MLFLOW_RUN_ID": ""})
        with self.assertRaises(ferry.ConfigError) as cm:
            ferry.Client()
        self.assertNotIn("log_metric", str(cm.exception), "outside a pod's run, no word of it")


if __name__ == "__main__":
    unittest.main()
