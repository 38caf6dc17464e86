"""What a real server without Kubernetes cannot show: followed logs, a wait that ends, timeouts, bounds.

A small HTTP server in the test stands in for ferry with canned answers.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
import unittest
from unittest import mock

import support  # noqa: F401

import ferry
from ferry import client as client_mod
from ferry import transport

JOB = {
    "tenant": "t", "name": "j", "state": "queued", "replicas": [], "createdBy": "a",
    "createdAt": "2026-01-02T03:04:05Z", "updatedAt": "2026-01-02T03:04:05Z",
    "spec": {"image": "i", "command": ["c"], "replicas": 1, "resources": {"cpu": "1"}, "maxRetries": 0},
}


class Stub(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.states = ["queued", "running", "succeeded"]
        self.requests: list[tuple[str, str, dict]] = []
        self.first_line_read = threading.Event()
        self.big = b""
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Stub

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests.append(("GET", self.path, dict(self.headers)))
        if self.path.startswith("/api/v1/tenants/t/jobs/j/logs"):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self._chunk(b"epoch 1 loss 0.9\n")
            # the second line comes only once the client has read the first
            self.server.first_line_read.wait(10)
            self._chunk("epoch 2 loss 0.5 ✓\n".encode())
            self._chunk(b"done")
            self._chunk(b"")
        elif self.path == "/api/v1/tenants/t/jobs/j":
            state = self.server.states.pop(0) if len(self.server.states) > 1 else self.server.states[0]
            self._json(200, dict(JOB, state=state))
        elif self.path == "/api/v1/whoami/slow":
            time.sleep(1.5)
        elif self.path == "/api/v1/whoami":
            self._raw(200, self.server.big or b"{}")
        else:
            self._json(404, {"title": "Not Found", "status": 404, "detail": "no " + self.path})

    def do_PATCH(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append(("PATCH", self.path, json.loads(body)))
        self._json(200, {"name": "t", "displayName": "x", "quota": {"cpu": "1", "memory": "1Gi", "gpu": 0},
                         "notebookIdleSeconds": 0, "generation": 2,
                         "createdAt": "2026-01-02T03:04:05Z", "updatedAt": "2026-01-02T03:04:05Z"})

    def _chunk(self, b: bytes) -> None:
        self.wfile.write(f"{len(b):x}\r\n".encode() + b + b"\r\n")
        self.wfile.flush()

    def _json(self, status: int, obj: dict) -> None:
        self._raw(status, json.dumps(obj).encode())

    def _raw(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class TransportTest(unittest.TestCase):
    def setUp(self) -> None:
        self.stub = Stub()
        self.addCleanup(self.stub.server_close)
        self.addCleanup(self.stub.shutdown)
        self.client = ferry.Client(self.stub.url, "tok", timeout=2)

    def test_followed_logs_arrive_line_by_line_before_the_stream_ends(self):
        got = []
        with self.client.job_logs("t", "j", follow=True) as logs:
            for line in logs:
                got.append(line)
                self.stub.first_line_read.set()
        self.assertEqual(got, ["epoch 1 loss 0.9\n", "epoch 2 loss 0.5 ✓\n", "done"])
        _, path, headers = self.stub.requests[0]
        self.assertEqual(path, "/api/v1/tenants/t/jobs/j/logs?replica=0&follow=true")
        self.assertEqual(headers["Authorization"], "Bearer tok")

    def test_logs_text_reads_the_whole_log(self):
        self.stub.first_line_read.set()
        self.assertEqual(self.client.job_logs("t", "j", replica=0).text(), "epoch 1 loss 0.9\nepoch 2 loss 0.5 ✓\ndone")
        self.assertEqual(self.stub.requests[0][1], "/api/v1/tenants/t/jobs/j/logs?replica=0")

    def test_wait_polls_until_the_job_is_done(self):
        job = self.client.wait_job("t", "j", timeout=10, interval=0.01)
        self.assertEqual(job.state, "succeeded")
        self.assertTrue(job.done)
        self.assertEqual(len(self.stub.requests), 3)

    def test_update_sends_only_the_fields_given(self):
        self.client.update_tenant("t", ferry.TenantUpdate(display_name="x"))
        self.assertEqual(self.stub.requests[0], ("PATCH", "/api/v1/tenants/t", {"displayName": "x"}))

    def test_path_values_are_escaped(self):
        with self.assertRaises(ferry.FerryError) as cm:
            self.client.get_job("t", "../../whoami")
        self.assertEqual(cm.exception.status, 404)
        self.assertEqual(self.stub.requests[0][1], "/api/v1/tenants/t/jobs/..%2F..%2Fwhoami")

    def test_a_silent_server_times_out(self):
        with mock.patch.dict(client_mod.OPERATIONS, {"whoami": ("GET", "/api/v1/whoami/slow", "whoami")}):
            c = ferry.Client(self.stub.url, "tok", timeout=0.3)
            start = time.monotonic()
            with self.assertRaises(ferry.FerryConnectionError):
                c.whoami()
            self.assertLess(time.monotonic() - start, 1.4)

    def test_an_answer_over_the_bound_is_refused(self):
        self.stub.big = b'{"pad": "' + b"x" * 5000 + b'"}'
        with mock.patch.object(transport, "MAX_ANSWER_BYTES", 4096):
            with self.assertRaises(ferry.FerryError) as cm:
                self.client.whoami()
        self.assertIn("larger than 4096", str(cm.exception))

    def test_a_server_with_a_path_prefix(self):
        c = ferry.Client(self.stub.url + "/ferry/", "tok")
        with self.assertRaises(ferry.FerryError):
            c.get_tenant("a b")
        self.assertEqual(self.stub.requests[0][1], "/ferry/api/v1/tenants/a%20b")


class PagerTest(unittest.TestCase):
    def test_a_cursor_answered_with_itself_stops_the_pager(self):
        pager = ferry.Pager(lambda after: ferry.Page(items=[1], next="same"))
        with self.assertRaises(ferry.FerryError):
            list(pager)


if __name__ == "__main__":
    unittest.main()
