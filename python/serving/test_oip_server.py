"""The runtime's protocol handling against the Open Inference Protocol's REST spec (python3 -m unittest)."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import pickle
import sys
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oip_server as oip  # noqa: E402


class Threshold:
    """A picklable stand-in for a fitted classifier: class 1 when the first feature > 0."""

    n_features_in_ = 2

    def predict(self, rows):
        return [1 if r[0] > 0 else 0 for r in rows]


class Broken(Threshold):
    def predict(self, rows):
        raise RuntimeError("boom")


def ready(model=None) -> oip.Protocol:
    p = oip.Protocol("iris")
    p.model = model or Threshold()
    p.n_features = 2
    return p


def infer_body(shape, datatype, data, name="input-0"):
    return json.dumps({"id": "r1", "inputs": [{"name": name, "shape": shape, "datatype": datatype, "data": data}]}).encode()


class ProtocolTest(unittest.TestCase):
    def test_live_at_once_ready_only_with_a_model(self):
        p = oip.Protocol("iris")
        self.assertEqual(p.route("GET", "/v2/health/live", None)[0], 200)
        status, body = p.route("GET", "/v2/health/ready", None)
        self.assertEqual(status, 503)
        self.assertIn("error", body)
        self.assertEqual(p.route("GET", "/v2/models/iris/ready", None)[0], 503)
        p = ready()
        self.assertEqual(p.route("GET", "/v2/health/ready", None)[0], 200)
        self.assertEqual(p.route("GET", "/v2/models/iris/ready", None)[0], 200)

    def test_metadata_names_the_model_and_typed_inputs_and_outputs(self):
        status, md = ready().route("GET", "/v2/models/iris", None)
        self.assertEqual(status, 200)
        self.assertEqual(md["name"], "iris")
        self.assertEqual(md["inputs"][0]["shape"], [-1, 2])
        for t in md["inputs"] + md["outputs"]:
            self.assertEqual(set(t), {"name", "datatype", "shape"})

    def test_infer_answers_typed_tensors_with_the_request_id(self):
        status, out = ready().route("POST", "/v2/models/iris/infer", infer_body([2, 2], "FP32", [1.0, 0.5, -1.0, 2.0]))
        self.assertEqual(status, 200, out)
        self.assertEqual(out["model_name"], "iris")
        self.assertEqual(out["id"], "r1")
        self.assertEqual(out["outputs"], [{"name": "predict", "shape": [2], "datatype": "INT64", "data": [1, 0]}])

    def test_nested_data_is_accepted_as_row_major(self):
        status, out = ready().route("POST", "/v2/models/iris/infer", infer_body([2, 2], "FP64", [[1, 0], [-1, 0]]))
        self.assertEqual((status, out["outputs"][0]["data"]), (200, [1, 0]))

    def test_bad_tensors_are_protocol_errors(self):
        p = ready()
        for name, body, want in [
            ("wrong feature count", infer_body([1, 3], "FP32", [1, 2, 3]), "takes 2 features"),
            ("shape does not match data", infer_body([2, 2], "FP32", [1, 2, 3]), "holds 4 elements"),
            ("unknown datatype", infer_body([1, 2], "FLOAT", [1, 2]), "unknown datatype"),
            ("element not of datatype", infer_body([1, 2], "INT32", [1, 2.5]), "is not INT32"),
            ("int out of range", infer_body([1, 2], "UINT8", [1, 300]), "is not UINT8"),
            ("datatype the model does not take", infer_body([1, 2], "BYTES", ["a", "b"]), "does not match"),
            ("negative shape", infer_body([-1, 2], "FP32", [1, 2]), "non-negative"),
            ("no inputs", json.dumps({"inputs": []}).encode(), "non-empty"),
            ("missing data", json.dumps({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32"}]}).encode(), "missing 'data'"),
            ("not JSON", b"{", "not JSON"),
        ]:
            with self.subTest(name):
                status, out = p.route("POST", "/v2/models/iris/infer", body)
                self.assertEqual(status, 400)
                self.assertEqual(set(out), {"error"})
                self.assertIn(want, out["error"])

    def test_unknown_model_is_404_and_a_failing_model_500(self):
        self.assertEqual(ready().route("POST", "/v2/models/other/infer", infer_body([1, 2], "FP32", [1, 2]))[0], 404)
        status, out = ready(Broken()).route("POST", "/v2/models/iris/infer", infer_body([1, 2], "FP32", [1, 2]))
        self.assertEqual(status, 500)
        self.assertIn("boom", out["error"])

    def test_v1_predict(self):
        p = ready()
        self.assertEqual(p.route("POST", "/v1/models/iris:predict", json.dumps({"instances": [[1, 1], [-2, 0]]}).encode()),
                         (200, {"predictions": [1, 0]}))
        status, out = p.route("POST", "/v1/models/iris:predict", json.dumps({"instances": [[1], [1, 2]]}).encode())
        self.assertEqual(status, 400)
        self.assertIn("error", out)


class ServeTest(unittest.TestCase):
    def _blob_server(self, blob: bytes, key: str):
        class H(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                if self.headers.get("X-Ferry-Key") != key:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(blob)))
                self.end_headers()
                self.wfile.write(blob)

            def log_message(self, *a):
                pass

        srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)
        return f"http://127.0.0.1:{srv.server_address[1]}/artifact"

    def test_the_model_is_fetched_verified_loaded_and_served_over_http(self):
        blob = pickle.dumps(Threshold())
        url = self._blob_server(blob, "k")
        p = oip.Protocol("iris")
        oip.fetch_and_load(p, url, hashlib.sha256(blob).hexdigest(), "k", attempts=1)
        self.assertTrue(p.ready, p.error)
        self.assertEqual(p.n_features, 2)
        srv = oip.serve(p, 0)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)
        c = http.client.HTTPConnection("127.0.0.1", srv.server_address[1], timeout=5)
        c.request("POST", "/v2/models/iris/infer", body=infer_body([1, 2], "FP32", [3, 0]), headers={"Content-Type": "application/json"})
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        self.assertEqual(json.loads(r.read())["outputs"][0]["data"], [1])
        c.close()

    def test_a_requests_body_is_never_taken_for_the_next_request(self):
        """A GET's body is read too: on a keep-alive connection (the gateway's), bytes left unread
        would be parsed as the next request, and its answer given to the next caller."""
        srv = oip.serve(ready(), 0)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)
        c = http.client.HTTPConnection("127.0.0.1", srv.server_address[1], timeout=5)
        c.request("GET", "/v2/health/live", body=b"GET /v2 HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.getresponse()
        r.read()
        self.assertEqual(r.status, 200)
        c.request("GET", "/v2/models/iris")
        r = c.getresponse()
        self.assertEqual(json.loads(r.read()).get("name"), "iris", "the second answer is not the second request's")
        c.putrequest("POST", "/v2/models/iris/infer")
        c.putheader("Content-Length", str(oip.MAX_BODY + 1))
        c.endheaders()  # the body is not sent: the answer comes first
        r = c.getresponse()
        r.read()
        self.assertEqual(r.status, 413)
        self.assertEqual(r.getheader("Connection"), "close", "an unread body left the connection open")
        c.close()

    def test_a_file_whose_digest_differs_is_refused(self):
        blob = pickle.dumps(Threshold())
        url = self._blob_server(blob, "k")
        p = oip.Protocol("iris")
        oip.fetch_and_load(p, url, "0" * 64, "k", attempts=1)
        self.assertFalse(p.ready)
        self.assertIn("refusing", p.error)
        self.assertEqual(p.route("GET", "/v2/health/ready", None)[0], 503)


class StartTest(unittest.TestCase):
    def test_distutils_is_the_standard_librarys_not_setuptools(self):
        """joblib imports distutils; setuptools' copy would import all of setuptools at every start."""
        import subprocess
        code = ("import os, sys; sys.path.insert(0, sys.argv[1]); os.environ.pop('SETUPTOOLS_USE_DISTUTILS', None)\n"
                "import oip_server; oip_server.prefer_stdlib_distutils()\n"
                "try:\n    import distutils\nexcept ImportError:\n    print('none'); raise SystemExit\n"
                "print(distutils.__file__, 'setuptools' in sys.modules)")
        env = {k: v for k, v in os.environ.items() if k != "SETUPTOOLS_USE_DISTUTILS"}
        out = subprocess.run([sys.executable, "-c", code, os.path.dirname(os.path.abspath(__file__))],
                             capture_output=True, text=True, env=env, check=True).stdout.split()
        if out == ["none"]:
            self.skipTest("no distutils in this Python")
        self.assertNotIn("setuptools", out[0], f"distutils came from {out[0]}")
        self.assertEqual(out[1], "False", "setuptools was imported")


if __name__ == "__main__":
    unittest.main()
