"""In-pod logging (ferry.log_metric and friends) against a real `ferry server --kube off`."""

from __future__ import annotations

import hashlib
import itertools
import os
import tempfile
import unittest
from unittest import mock

import support

import ferry
from ferry import tracking

server: support.FerryServer | None = None
_ids = itertools.count()


def setUpModule() -> None:
    global server
    server = support.FerryServer()


def tearDownModule() -> None:
    if server is not None:
        server.stop()


class InPodLoggingTest(unittest.TestCase):
    def setUp(self) -> None:
        assert server is not None
        self.admin = ferry.Client(server.url, server.admin_token, timeout=10)
        name = f"tr-{os.getpid() % 10000}-{next(_ids)}"
        self.admin.create_tenant(ferry.TenantCreate(name=name))
        self.addCleanup(self.admin.delete_tenant, name)
        self.tenant = name
        # A job's run, as ferry makes it at submit; the pod's environment names it.
        job = self.admin.submit_job(name, ferry.JobSubmit(name="train", image="ferry.local/workload:1", command=["true"]))
        assert job.run is not None
        self.run = job.run
        env = {"MLFLOW_TRACKING_URI": f"{server.url}/mlflow/{name}", "MLFLOW_RUN_ID": job.run.run_id,
               "MLFLOW_EXPERIMENT_ID": job.run.experiment_id, "MLFLOW_TRACKING_TOKEN": server.admin_token}
        patcher = mock.patch.dict(os.environ, env)
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_params_metrics_artifact_and_registration_reach_the_jobs_run(self) -> None:
        ferry.log_param("C", 0.5)
        ferry.log_params({"max_iter": 200})
        for step, acc in enumerate([0.5, 0.75, float("nan")]):
            ferry.log_metric("acc", acc, step=step)
        with tempfile.NamedTemporaryFile(suffix=".joblib") as f:
            f.write(b"model bytes")
            f.flush()
            digest = ferry.log_artifact(f.name, "model/model.joblib")
        self.assertEqual(digest, hashlib.sha256(b"model bytes").hexdigest())
        version = ferry.register_model("digits")
        self.assertEqual(version, 1)

        run = self.admin.get_run(self.tenant, self.run.run_id)
        self.assertEqual(run.params, {"C": "0.5", "max_iter": "200"})
        series = list(self.admin.metric_history(self.tenant, self.run.run_id, "acc"))
        self.assertEqual([m.step for m in series], [0, 1, 2])
        self.assertEqual(series[2].value, "NaN")
        arts = list(self.admin.list_run_artifacts(self.tenant, self.run.run_id, path="model"))
        self.assertEqual([(a.path, a.digest) for a in arts], [("model/model.joblib", digest)])
        (v,) = list(self.admin.list_model_versions(self.tenant, "digits"))
        self.assertEqual((v.version, v.run_id, v.job), (1, self.run.run_id, "train"))
        self.assertTrue(v.source.endswith(f"/{self.run.run_id}/artifacts/model"), v.source)

    def test_bad_input_is_refused_before_or_by_the_server(self) -> None:
        with self.assertRaises(ValueError):
            ferry.log_artifact(__file__, "../escape.py")
        ferry.log_param("C", 1)
        with self.assertRaises(ferry.FerryError) as e:
            ferry.log_param("C", 2)  # MLflow: a param is set once
        self.assertEqual(e.exception.status, 400)
        self.assertEqual(e.exception.title, "INVALID_PARAMETER_VALUE")

    def test_outside_a_run_it_says_so(self) -> None:
        with mock.patch.dict(os.environ, {"MLFLOW_RUN_ID": ""}):
            with self.assertRaises(tracking.NotInARun):
                ferry.log_metric("acc", 1.0)


if __name__ == "__main__":
    unittest.main()
