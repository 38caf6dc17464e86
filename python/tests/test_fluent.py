"""ferry.start_run (tracking from a laptop or a notebook) against a real `ferry server --kube off`."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest
from unittest import mock

import support

import ferry
from ferry import fluent

shared = support.SharedServer()
setUpModule, tearDownModule = shared.start, shared.stop


class StartRunTest(support.TenantTestCase):
    shared = shared
    tenant_prefix = "fl"

    def setUp(self) -> None:
        super().setUp()
        # No pod's run: nothing in the environment names one.
        self.patch_env({"MLFLOW_RUN_ID": "", "MLFLOW_TRACKING_URI": ""})
        self.client = ferry.Client(self.server.url, self.server.admin_token, tenant=self.tenant, timeout=10)
        self.addCleanup(self._no_run_left_active)

    def _no_run_left_active(self) -> None:
        left = fluent.current_run()
        while fluent.current_run() is not None:
            ferry.end_run()
        self.assertIsNone(left, "a test left a run active")

    def test_a_run_logs_params_metrics_by_step_artifacts_and_a_model_then_finishes(self) -> None:
        with ferry.start_run(experiment="laptop", run_name="svc", tags={"team": "a"}, client=self.client) as run:
            self.assertIs(fluent.current_run(), run)
            self.assertEqual(self.client.get_run(self.tenant, run.run_id).status, "RUNNING")
            run.log_param("C", 0.5)
            ferry.log_params({"max_iter": 200})      # the module's functions use the active run
            for step, acc in enumerate([0.5, 0.75, 0.9]):
                run.log_metric("acc", acc, step=step)
            ferry.log_metric("loss", float("nan"), step=7)
            with tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, "model.joblib")
                with open(path, "wb") as f:
                    f.write(b"model bytes")
                digest = run.log_artifact(path, "model/model.joblib")
                with open(os.path.join(d, "notes.txt"), "wb") as f:
                    f.write(b"notes")
                logged = run.log_artifacts(d, "all")
            version = run.register_model("digits")
        self.assertIsNone(fluent.current_run())
        self.assertEqual(run.status, "FINISHED")
        self.assertEqual(digest, hashlib.sha256(b"model bytes").hexdigest())
        self.assertEqual(logged, {"all/model.joblib": digest, "all/notes.txt": hashlib.sha256(b"notes").hexdigest()})
        self.assertEqual(version, 1)

        got = self.admin.get_run(self.tenant, run.run_id)
        self.assertEqual(got.status, "FINISHED")
        self.assertIsNotNone(got.end_time)
        self.assertEqual(got.name, "svc")
        self.assertEqual(got.params, {"C": "0.5", "max_iter": "200"})
        assert got.tags is not None
        self.assertEqual(got.tags.get("team"), "a")
        self.assertEqual(got.tags.get("mlflow.source.type"), "LOCAL")
        self.assertIsNone(got.parent_run_id)
        (exp,) = [e for e in self.admin.list_experiments(self.tenant) if e.name == "laptop"]
        self.assertEqual(got.experiment_id, exp.id)
        series = list(self.admin.metric_history(self.tenant, run.run_id, "acc"))
        self.assertEqual([(p.step, p.value) for p in series], [(0, 0.5), (1, 0.75), (2, 0.9)])
        (loss,) = list(self.admin.metric_history(self.tenant, run.run_id, "loss"))
        self.assertEqual((loss.step, loss.value), (7, "NaN"))
        arts = list(self.admin.list_run_artifacts(self.tenant, run.run_id, path="model"))
        self.assertEqual([(a.path, a.digest) for a in arts], [("model/model.joblib", digest)])
        (v,) = list(self.admin.list_model_versions(self.tenant, "digits"))
        self.assertEqual((v.version, v.run_id), (1, run.run_id))

    def test_a_started_run_links_to_its_dashboard_page(self) -> None:
        with ferry.start_run(experiment="linked", client=self.client) as run:
            pass
        self.assertEqual(run.page_url, f"{self.server.url}/tenants/{self.tenant}/runs/{run.run_id}")
        self.assertEqual(self.admin.get_run(self.tenant, run.run_id).id, run.run_id, "the page names a run that exists")

    def test_a_second_run_reuses_the_experiment_by_name(self) -> None:
        with ferry.start_run(experiment="again", client=self.client) as a:
            pass
        with ferry.start_run(experiment="again", client=self.client) as b:
            pass
        self.assertEqual(a.experiment_id, b.experiment_id)
        self.assertNotEqual(a.experiment_id, "0")
        self.assertEqual(len([e for e in self.admin.list_experiments(self.tenant) if e.name == "again"]), 1)

    def test_a_nested_run_is_a_child_in_its_parents_experiment(self) -> None:
        with ferry.start_run(experiment="cv", client=self.client) as parent:
            with ferry.start_run(run_name="fold-1") as child:   # client and tenant from the parent
                ferry.log_metric("acc", 0.8)
                self.assertIs(fluent.current_run(), child)
            self.assertIs(fluent.current_run(), parent)
            ferry.log_metric("acc", 0.85)
        c = self.admin.get_run(self.tenant, child.run_id)
        p = self.admin.get_run(self.tenant, parent.run_id)
        self.assertEqual(c.parent_run_id, parent.run_id)
        assert c.tags is not None
        self.assertEqual(c.tags.get("mlflow.parentRunId"), parent.run_id)
        self.assertEqual(c.experiment_id, p.experiment_id)
        self.assertEqual((c.status, p.status), ("FINISHED", "FINISHED"))
        self.assertEqual(c.metric("acc").value if c.metric("acc") else None, 0.8)
        self.assertEqual(p.metric("acc").value if p.metric("acc") else None, 0.85)

    def test_a_block_that_raises_fails_the_run_and_the_error_propagates(self) -> None:
        with self.assertRaisesRegex(RuntimeError, "diverged"):
            with ferry.start_run(client=self.client) as run:
                run.log_metric("loss", 1e9)
                raise RuntimeError("diverged")
        self.assertEqual(self.admin.get_run(self.tenant, run.run_id).status, "FAILED")
        self.assertEqual(run.experiment_id, "0")
        self.assertIsNone(fluent.current_run())

    def test_a_keyboard_interrupt_kills_the_run(self) -> None:
        with self.assertRaises(KeyboardInterrupt):
            with ferry.start_run(client=self.client) as run:
                raise KeyboardInterrupt
        self.assertEqual(self.admin.get_run(self.tenant, run.run_id).status, "KILLED")

    def test_a_run_without_with_ends_by_end_run_and_only_once(self) -> None:
        run = ferry.start_run(client=self.client)
        ferry.log_param("p", 1)
        ferry.end_run("KILLED")
        run.end("FINISHED")  # already ended: nothing
        self.assertEqual(self.admin.get_run(self.tenant, run.run_id).status, "KILLED")
        with self.assertRaises(ferry.NotInARun):
            ferry.log_param("p", 2)

    def test_the_tenant_is_the_callers_only_one(self) -> None:
        user = self.admin.create_user(ferry.UserCreate(name=f"u{self.tenant.replace('-', '')}"))
        self.addCleanup(self.admin.disable_user, user.user.name)
        self.admin.put_member(self.tenant, user.user.name, "editor")
        mine = ferry.Client(self.server.url, user.token, timeout=10)
        self.assertIsNone(mine.tenant)
        with ferry.start_run(experiment="mine", client=mine) as run:
            run.log_metric("acc", 1.0)
        self.assertEqual(run.tenant, self.tenant)
        got = self.admin.get_run(self.tenant, run.run_id)
        self.assertEqual((got.status, got.user), ("FINISHED", user.user.name))

    def test_bad_input_is_refused_before_anything_is_written(self) -> None:
        with self.assertRaises(ValueError):
            ferry.start_run(experiment="x", experiment_id="1", client=self.client)
        with self.assertRaises(ValueError):
            ferry.start_run(experiment=" ", client=self.client)
        with ferry.start_run(client=self.client):
            with self.assertRaises(ValueError):
                ferry.start_run(tenant="another", client=self.client)
        with self.assertRaises(ferry.FerryError) as e:
            ferry.start_run(experiment_id="424242", client=self.client)
        self.assertEqual(e.exception.status, 404)
        self.assertEqual(len(list(self.admin.list_runs(self.tenant))), 1)
        run = ferry.start_run(client=self.client)
        with self.assertRaises(ValueError):
            run.end("DONE")
        run.end()

    def test_run_id_resumes_a_run_which_then_ends_finished(self) -> None:
        with ferry.start_run(experiment="again", client=self.client) as first:
            first.log_metric("acc", 0.5)
        with ferry.start_run(run_id=first.run_id, tags={"resumed": "yes"}, client=self.client) as run:
            self.assertFalse(run.pod_run)
            self.assertEqual((run.run_id, run.experiment_id), (first.run_id, first.experiment_id))
            self.assertEqual(self.admin.get_run(self.tenant, run.run_id).status, "RUNNING")
            run.log_metric("acc", 0.7, step=1)
        got = self.admin.get_run(self.tenant, first.run_id)
        self.assertEqual(got.status, "FINISHED")
        assert got.tags is not None
        self.assertEqual(got.tags.get("resumed"), "yes")
        self.assertEqual(len(list(self.admin.list_runs(self.tenant, experiment=first.experiment_id))), 1)
        with self.assertRaises(ValueError):
            ferry.start_run(run_id=first.run_id, parent_run_id="x", client=self.client)

    def test_a_script_that_exits_ends_its_open_run_finished_or_failed(self) -> None:
        for tail, want in (("", "FINISHED"), ("raise SystemExit('boom')", "FINISHED"), ("1/0", "FAILED")):
            script = textwrap.dedent(f"""
                import sys
                sys.path.insert(0, {str(support.PYTHON_DIR)!r})
                import ferry
                run = ferry.start_run(client=ferry.Client({self.server.url!r}, {self.server.admin_token!r}, tenant={self.tenant!r}))
                print(run.run_id, flush=True)
                {tail}
            """)
            p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
            run_id = p.stdout.strip()
            self.assertTrue(run_id, p.stderr)
            self.assertEqual(self.admin.get_run(self.tenant, run_id).status, want, (tail, p.stderr))


class StartRunInAJobPodTest(support.TenantTestCase):
    """start_run inside a training job's pod: its environment names the job's run, its token may write only there."""

    shared = shared
    tenant_prefix = "fp"

    def setUp(self) -> None:
        super().setUp()
        job = self.admin.submit_job(self.tenant, ferry.JobSubmit(name="train", image="ferry.local/workload:1", command=["true"]))
        assert job.run is not None
        self.job_run = job.run
        self.token = self.server.mint_run_token(self.tenant, job.run.run_id)
        # A job pod's environment (runtime/jobs Objects): no FERRY_SERVER, no CLI config.
        self.patch_env({"MLFLOW_TRACKING_URI": f"{self.server.url}/mlflow/{self.tenant}", "MLFLOW_RUN_ID": job.run.run_id,
                        "MLFLOW_EXPERIMENT_ID": job.run.experiment_id, "MLFLOW_TRACKING_TOKEN": self.token,
                        "FERRY_TENANT": self.tenant, "FERRY_JOB": "train", "FERRY_SERVER": "", "FERRY_TOKEN": "",
                        "FERRY_CONTEXT": "", "FERRY_CONFIG": os.path.join(self.server.data_dir, "no-config.yaml")})
        ferry.set_default_client(None)
        self.addCleanup(ferry.set_default_client, None)
        self.addCleanup(self._no_run_left_active)

    def _no_run_left_active(self) -> None:
        left = fluent.current_run()
        while fluent.current_run() is not None:
            ferry.end_run()
        self.assertIsNone(left, "a test left a run active")

    def test_it_resumes_the_jobs_run_and_leaves_finished_to_the_job_controller(self) -> None:
        self.assertEqual(self.admin.get_run(self.tenant, self.job_run.run_id).status, "SCHEDULED")
        with ferry.start_run(experiment="Default", tags={"fold": 1}) as run:
            self.assertTrue(run.pod_run)
            self.assertEqual((run.run_id, run.experiment_id, run.tenant), (self.job_run.run_id, self.job_run.experiment_id, self.tenant))
            self.assertEqual(self.admin.get_run(self.tenant, run.run_id).status, "RUNNING")
            run.log_metric("acc", 0.9, step=1)
            ferry.log_param("C", 1)
        self.assertIsNone(fluent.current_run())
        self.assertEqual(run.status, "FINISHED")
        got = self.admin.get_run(self.tenant, run.run_id)
        # Not FINISHED yet: the job's other replicas, or the rest of the script, may still be running.
        self.assertEqual((got.status, got.end_time), ("RUNNING", None))
        self.assertEqual(got.params, {"C": "1"})
        assert got.tags is not None
        self.assertEqual((got.tags.get("fold"), got.tags.get("ferry.job")), ("1", "train"))
        self.assertEqual(got.metric("acc").value if got.metric("acc") else None, 0.9)
        self.assertEqual(len(list(self.admin.list_runs(self.tenant))), 1)
        with ferry.start_run() as again:   # resumed again, not a second run
            pass
        self.assertEqual(again.run_id, run.run_id)

    def test_a_block_that_raises_fails_the_jobs_run(self) -> None:
        with self.assertRaisesRegex(RuntimeError, "diverged"):
            with ferry.start_run():
                raise RuntimeError("diverged")
        self.assertEqual(self.admin.get_run(self.tenant, self.job_run.run_id).status, "FAILED")
        with ferry.start_run() as run:   # resuming makes it RUNNING again, as in MLflow
            self.assertEqual(self.admin.get_run(self.tenant, run.run_id).status, "RUNNING")

    def test_a_nested_run_says_the_pods_token_may_not_create_runs(self) -> None:
        with ferry.start_run() as run:
            with self.assertRaises(ferry.FerryError) as e:
                ferry.start_run(run_name="fold-1")
            self.assertIs(fluent.current_run(), run)
        self.assertEqual(e.exception.status, 403)
        self.assertIn(f"may write only to the pod's own run {self.job_run.run_id}", str(e.exception))
        self.assertIn(f"a nested run (a child of run {self.job_run.run_id})", str(e.exception))
        self.assertEqual(len(list(self.admin.list_runs(self.tenant))), 1)

    def test_the_pods_run_named_inside_another_run_is_still_left_to_the_controller(self) -> None:
        user = ferry.Client(self.server.url, self.server.admin_token, tenant=self.tenant, timeout=10)
        with mock.patch.dict(os.environ, {"MLFLOW_RUN_ID": ""}):
            ferry.start_run(client=user).end()   # another run of the tenant, made with a user's token
        (other,) = [r for r in self.admin.list_runs(self.tenant) if r.id != self.job_run.run_id]
        with ferry.start_run(run_id=other.id, client=user) as outer:
            with ferry.start_run(run_id=self.job_run.run_id) as pod:
                self.assertTrue(pod.pod_run)
        self.assertNotEqual(outer.run_id, pod.run_id)
        self.assertEqual(self.admin.get_run(self.tenant, outer.run_id).status, "FINISHED")
        self.assertEqual(self.admin.get_run(self.tenant, pod.run_id).status, "RUNNING")

    def test_another_experiment_or_run_is_refused(self) -> None:
        with self.assertRaisesRegex(ValueError, "is in experiment 'Default'"):
            ferry.start_run(experiment="elsewhere")
        with self.assertRaisesRegex(ValueError, "is in experiment 0"):
            ferry.start_run(experiment_id="7")
        with self.assertRaisesRegex(ValueError, "no ferry server"):
            ferry.start_run(tenant="another-tenant")   # not the pod's run: a new one, and the pod has no server for it
        self.assertIsNone(fluent.current_run())


if __name__ == "__main__":
    unittest.main()
