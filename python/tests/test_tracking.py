"""In-pod logging (ferry.log_metric and friends) against a real `ferry server --kube off`."""

from __future__ import annotations

import hashlib
import os
import tempfile
import unittest
from unittest import mock

import support

import ferry
from ferry import tracking

shared = support.SharedServer()
setUpModule, tearDownModule = shared.start, shared.stop


class InPodLoggingTest(support.TenantTestCase):
    shared = shared
    tenant_prefix = "tr"

    def setUp(self) -> None:
        super().setUp()
        # A job's run, as ferry makes it at submit; the pod's environment names it.
        job = self.admin.submit_job(self.tenant, ferry.JobSubmit(name="train", image="ferry.local/workload:1", command=["true"]))
        assert job.run is not None
        self.run = job.run
        self.patch_env({"MLFLOW_TRACKING_URI": f"{self.server.url}/mlflow/{self.tenant}", "MLFLOW_RUN_ID": job.run.run_id,
                        "MLFLOW_EXPERIMENT_ID": job.run.experiment_id, "MLFLOW_TRACKING_TOKEN": self.server.admin_token})

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
        self.assertEqual(self.admin.get_model_version(self.tenant, "digits", 1), v, "one version reads as the list shows it")

    def test_lineage_names_the_jobs_run_as_producer_of_the_artifact_and_maker_of_the_version(self) -> None:
        with tempfile.NamedTemporaryFile(suffix=".joblib") as f:
            f.write(b"lineage model")
            f.flush()
            digest = ferry.log_artifact(f.name, "model/model.joblib")
        self.assertEqual(ferry.register_model("digits"), 1)
        run_id = self.run.run_id

        lin = self.admin.artifact_lineage(self.tenant, digest)
        self.assertEqual((lin.digest, lin.size), (f"sha256:{digest}", len(b"lineage model")))
        self.assertEqual(lin.produced_by, [ferry.LineageRun(run_id=run_id, path="model/model.joblib", job="train")])
        self.assertEqual(lin.consumed_by, [])
        self.assertEqual(lin.models, [ferry.ModelVersionRef(model="digits", version=1, run_id=run_id)])
        self.assertEqual(self.admin.artifact_lineage(self.tenant, f"sha256:{digest}", limit=1).produced_by,
                         lin.produced_by, "the sha256: form names the same artifact")

        mv = self.admin.model_version_lineage(self.tenant, "digits", 1, depth=5, steps=10)
        self.assertEqual((mv.model, mv.version, mv.made_by), ("digits", 1, ferry.LineageRun(run_id=run_id, job="train")))
        self.assertTrue(mv.source.endswith(f"/{run_id}/artifacts/model"), mv.source)
        self.assertEqual((mv.steps, mv.artifacts), ([], []), "a job's run is no pipeline step's")
        with self.assertRaises(ferry.FerryError) as e:
            self.admin.model_version_lineage(self.tenant, "digits", 2)
        self.assertEqual(e.exception.status, 404)

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
