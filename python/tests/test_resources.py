"""Serving, inference, tuning and monitoring through the SDK, against a real `ferry server --kube off`
(objects are stored, not run) and, for inference, ferry's own OIP runtime behind a stand-in gateway."""

from __future__ import annotations

import dataclasses
import http.server
import itertools
import json
import os
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

import support

import ferry
from ferry import models, tracking

sys.path.insert(0, str(support.REPO / "python" / "serving"))
import oip_server  # noqa: E402  (ferry's sklearn runtime: the protocol side needs no scikit-learn)

_names = itertools.count()
server: support.FerryServer | None = None


def setUpModule() -> None:
    global server
    server = support.FerryServer()


def tearDownModule() -> None:
    if server is not None:
        server.stop()


class Tenant(unittest.TestCase):
    def setUp(self) -> None:
        assert server is not None
        self.server = server
        admin = ferry.Client(server.url, server.admin_token, timeout=10)
        self.t = admin.create_tenant(ferry.TenantCreate(name=f"res-{os.getpid() % 10000}-{next(_names)}")).name
        self.addCleanup(admin.delete_tenant, self.t)
        self.c = ferry.Client(server.url, server.admin_token, tenant=self.t, timeout=10)

    def model_version(self, name: str) -> models.ModelVersion:
        """A registered version whose run holds model/model.pkl, logged as a job's pod would."""
        req = urllib.request.Request(f"{self.server.url}/mlflow/{self.t}/api/2.0/mlflow/runs/create", data=b'{"run_name": "train"}',
                                     method="POST", headers={"Authorization": "Bearer " + self.server.admin_token,
                                                             "Content-Type": "application/json"})
        info = json.loads(urllib.request.urlopen(req, timeout=10).read())["run"]["info"]
        run = tracking.ActiveRun(f"{self.server.url}/mlflow/{self.t}", info["run_id"], info["experiment_id"], self.server.admin_token)
        with tempfile.NamedTemporaryFile(suffix=".pkl") as f:
            f.write(b"a pickled model")
            f.flush()
            run.log_artifact(f.name, "model/model.pkl")
        return self.c.register_model_version(self.t, name, models.ModelVersionCreate(run_id=info["run_id"]))


class DeploymentsTest(Tenant):
    def test_create_get_update_keys_promote_rollback_delete(self):
        self.model_version("iris")
        d = self.c.deployments.create("iris", model="iris/1", min=0)
        self.assertEqual((d.spec.model, d.spec.min, d.spec.runtime, d.url), ("iris/1", 0, "sklearn", f"/serve/{self.t}/iris/"))
        self.assertEqual([(r.name, r.role, r.weight) for r in d.revisions], [("iris-r1", "stable", 100)])
        self.assertEqual(self.c.deployments.update("iris", max=3).spec.max, 3)
        self.assertEqual([x.name for x in self.c.deployments.list()], ["iris"])
        key = self.c.deployments.create_key("iris", "ci")
        self.assertTrue(key.secret and key.secret.startswith("ferry_dk_"))
        self.assertEqual([(k.id, k.secret) for k in self.c.deployments.keys("iris")], [(key.id, None)])
        self.c.deployments.delete_key("iris", key.id)
        with self.assertRaises(ferry.FerryError) as cm:
            self.c.deployments.promote("iris")
        self.assertEqual(cm.exception.status, 409)
        with self.assertRaises(ferry.FerryError) as cm:
            self.c.deployments.rollback("iris")
        self.assertIn(cm.exception.status, (409, 422))
        self.c.deployments.delete("iris")
        with self.assertRaises(ferry.FerryError) as cm:
            self.c.deployments.get("iris")
        self.assertEqual(cm.exception.status, 404)

    def test_wait_returns_a_deployment_scaled_to_zero_at_once(self):
        self.model_version("iris")
        self.c.deployments.create("iris", model="iris/1", min=0)
        t0 = time.monotonic()
        d = self.c.deployments.wait("iris", timeout=5, interval=0.05)
        self.assertLess(time.monotonic() - t0, 2)
        self.assertTrue(d.ready)
        self.assertEqual(d.not_ready, [])

    def test_wait_times_out_naming_the_revision_short_of_replicas(self):
        # --kube off: no pod ever becomes ready, and min 1 asks for one.
        self.model_version("iris")
        self.c.deployments.create("iris", model="iris/1", min=1)
        t0 = time.monotonic()
        with self.assertRaises(TimeoutError) as cm:
            self.c.wait_deployment(self.t, "iris", timeout=0.4, interval=0.05)
        self.assertLess(time.monotonic() - t0, 3)
        self.assertIn(f"deployment {self.t}/iris is not ready after 0.4s: iris-r1 (stable): 0/1 ready", str(cm.exception))

    def test_wait_on_a_missing_deployment_is_its_404_at_once(self):
        with self.assertRaises(ferry.FerryError) as cm:
            self.c.deployments.wait("nope", timeout=30)
        self.assertEqual(cm.exception.status, 404)

    def test_readiness_counts_revisions_with_traffic_and_gives_their_reason(self):
        self.model_version("iris")
        d = self.c.deployments.create("iris", model="iris/1", min=0)
        (r,) = d.revisions
        short = dataclasses.replace(r, replicas=2, ready_replicas=1, reason="the image cannot be pulled")
        retired = dataclasses.replace(r, name="iris-r0", role="retired", weight=0, replicas=1, ready_replicas=0)
        d2 = dataclasses.replace(d, revisions=[short, retired])
        self.assertFalse(d2.ready)
        self.assertEqual(d2.not_ready, ["iris-r1 (stable): 1/2 ready: the image cannot be pulled"])
        full = dataclasses.replace(r, replicas=2, ready_replicas=2)
        self.assertTrue(dataclasses.replace(d, revisions=[full, retired]).ready)
        self.assertEqual(dataclasses.replace(d, revisions=[retired]).not_ready, ["no revision takes traffic"])

    def test_an_unknown_model_is_422_at_body_model(self):
        with self.assertRaises(ferry.FerryError) as cm:
            self.c.deployments.create("nope", model="nope/1")
        self.assertEqual(cm.exception.status, 422)
        self.assertIn("body.model", cm.exception.locations)


class SumModel:
    def predict(self, rows: list[list[float]]) -> list[int]:
        return [int(sum(r) > 12) for r in rows]


def gateway(tenant: str, deployment: str, credential: str) -> http.server.ThreadingHTTPServer:
    """ferry's OIP runtime (its own server and handler) serving SumModel, behind a stand-in for ferry's
    gateway: /serve/<tenant>/<deployment>/... with a key or token, else the gateway's 404."""
    proto = oip_server.Protocol(deployment)
    proto.model, proto.n_features = SumModel(), 4
    srv = oip_server.serve(proto, 0)
    prefix = f"/serve/{tenant}/{deployment}"

    class GatewayHandler(srv.RequestHandlerClass):  # the runtime's handler, made inside serve()
        def _answer(self, method: str) -> None:
            cred = self.headers.get("X-Ferry-Key") or (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            if not self.path.startswith(prefix + "/"):
                detail = f"no deployment at {self.path}"
            elif cred != credential:
                detail = "no deployment"
            else:
                self.path = self.path[len(prefix):]
                super()._answer(method)
                return
            self.rfile.read(int(self.headers.get("Content-Length") or 0))  # the connection is kept alive
            self._send(404, {"title": "Not Found", "status": 404, "detail": detail})

    srv.RequestHandlerClass = GatewayHandler
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    return srv


class InferTest(unittest.TestCase):
    def gateway(self, credential: str) -> str:
        g = gateway("team-a", "iris", credential)
        self.addCleanup(g.server_close)
        self.addCleanup(g.shutdown)
        return f"http://127.0.0.1:{g.server_address[1]}"

    def test_infer_speaks_oip_v2_to_the_deployments_path_with_the_token(self):
        c = ferry.Client("http://127.0.0.1:1", "tok", tenant="team-a", gateway=self.gateway("tok"))
        answer = c.infer("iris", [[5.1, 3.5, 1.4, 0.2], [6.0, 3.0, 4.8, 1.8]], id="req-1")
        self.assertEqual((answer.model_name, answer.id), ("iris", "req-1"))
        self.assertEqual(answer.output("predict").data, [0, 1])
        self.assertEqual(answer.outputs[0].datatype, "INT64")

    def test_infer_with_a_deployment_key_and_named_tensors(self):
        c = ferry.Client("http://127.0.0.1:1", "", gateway=self.gateway("ferry_dk_x"))
        answer = c.infer("iris", {"input-0": ferry.tensor("input-0", [[9, 9, 9, 9]], datatype="FP32")}, tenant="team-a", key="ferry_dk_x")
        self.assertEqual(answer.outputs[0].data, [1])

    def test_the_runtimes_and_the_gateways_errors_are_ferry_errors(self):
        c = ferry.Client("http://127.0.0.1:1", "tok", tenant="team-a", gateway=self.gateway("tok"))
        with self.assertRaises(ferry.FerryError) as cm:
            c.infer("iris", [[1.0, 2.0]])
        self.assertEqual(cm.exception.status, 400)
        self.assertIn("the model takes 4 features", str(cm.exception))
        with self.assertRaises(ferry.FerryError) as cm:
            c.infer("iris", [[1.0, 2.0, 3.0, 4.0]], key="wrong")
        self.assertEqual(cm.exception.status, 404)
        with self.assertRaises(ValueError):
            ferry.Client("http://127.0.0.1:1", "tok", tenant="team-a").infer("iris", [[1.0]])

    def test_tensors_take_their_shape_and_datatype_from_the_values(self):
        self.assertEqual(ferry.tensor("x", [[1, 2, 3], [4, 5, 6]]), ferry.InferInput("x", [2, 3], "INT64", [1, 2, 3, 4, 5, 6]))
        self.assertEqual(ferry.tensor("x", [True, False]).datatype, "BOOL")
        self.assertEqual(ferry.tensor("x", [[0.5]]).datatype, "FP64")
        self.assertEqual(ferry.tensor("x", ["a", "b"]).datatype, "BYTES")


class TuningTest(Tenant):
    SPEC = ferry.TuningSpec(
        api_version="ferry.dev/v1", kind="Tuning", name="svc",
        objective=ferry.TuningObjective(metric="accuracy", direction="maximize"),
        parameters=[ferry.TuningParam(name="C", type="float", min=0.01, max=10, log=True),
                    ferry.TuningParam(name="kernel", type="categorical", values=["rbf", "linear"])],
        trial=ferry.TrialTemplate(image="ferry.local/workload:1", command=["python3", "train.py", "--C=${params.C}", "--kernel=${params.kernel}"]),
        max_trials=4, parallel_trials=2)

    def test_create_get_trials_stop(self):
        t = self.c.tunings.create(self.SPEC)
        self.assertEqual((t.name, t.state, t.spec.algorithm, t.trials.total), ("svc", "running", "tpe", 0))
        self.assertEqual(self.c.tunings.get("svc").run_id, t.run_id)
        self.assertEqual([x.name for x in self.c.tunings.list()], ["svc"])
        self.assertEqual(list(self.c.tunings.trials("svc")), [])
        with self.assertRaises(ferry.FerryError) as cm:
            self.c.tunings.best("svc")
        self.assertEqual(cm.exception.status, 404)
        stopped = self.c.tunings.stop("svc")
        self.assertTrue(stopped.done)
        self.assertEqual(self.c.tunings.wait("svc", timeout=5).state, "stopped")

    def test_a_bad_spec_is_422_at_its_field(self):
        bad = ferry.TuningSpec(**{**self.SPEC.__dict__, "objective": ferry.TuningObjective(metric="a", direction="sideways")})
        with self.assertRaises(ferry.FerryError) as cm:
            self.c.tunings.create(bad)
        self.assertEqual(cm.exception.status, 422)
        self.assertTrue(any("objective.direction" in loc for loc in cm.exception.locations), cm.exception.locations)


class MonitoringTest(Tenant):
    def test_top_quota_usage_and_reads(self):
        top = self.c.top(tenant=self.t)
        self.assertEqual(top.items, [])
        q = self.c.get_tenant_quota(self.t)
        self.assertEqual(q.tenant, self.t)
        self.assertEqual(q.limit.cpu_millicores, 4000)
        self.assertEqual(q.free.memory_bytes, q.limit.memory_bytes - q.requested.memory_bytes)
        with self.assertRaises(ferry.FerryError) as cm:
            self.c.get_workload_usage(self.t, "job", "nothing-here")
        self.assertEqual(cm.exception.status, 404)
        self.assertEqual(list(self.c.list_tenant_reads(self.t, kind="log")), [])


if __name__ == "__main__":
    unittest.main()
