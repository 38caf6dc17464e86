"""Test support: the SDK from this tree, and a real `ferry server` on 127.0.0.1.

The server binary is $FERRY_BIN, else bin/ferry at the repository root
(`make build`). Without either, the server tests skip and say so. The
contract is api/v1/openapi.json, or the file $FERRY_OPENAPI names.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request
from pathlib import Path

PYTHON_DIR = Path(__file__).resolve().parent.parent
REPO = PYTHON_DIR.parent
# The contract the tests check the SDK against; FERRY_OPENAPI names another
# copy of it (say `git show HEAD:api/v1/openapi.json > /tmp/openapi.json`).
OPENAPI = Path(os.environ.get("FERRY_OPENAPI") or REPO / "api" / "v1" / "openapi.json")

# The package under test is this tree's, not an installed copy.
sys.path.insert(0, str(PYTHON_DIR))


def ferry_bin() -> str | None:
    """The ferry binary to test against, or None."""
    if b := os.environ.get("FERRY_BIN"):
        return b
    b = REPO / "bin" / "ferry"
    return str(b) if b.exists() else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FerryServer:
    """`ferry server --kube off` in a temporary data directory; stop() ends it."""

    def __init__(self) -> None:
        b = ferry_bin()
        if b is None:
            raise unittest.SkipTest("no ferry binary: run `make build` (bin/ferry) or set FERRY_BIN")
        self.bin = b
        self._tmp = tempfile.TemporaryDirectory(prefix="ferry-py-")
        self.data_dir = Path(self._tmp.name)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self._log = open(self.data_dir / "server.log", "wb")
        self.proc = subprocess.Popen(
            [b, "server", "--data-dir", str(self.data_dir / "data"), "--listen", f"127.0.0.1:{port}", "--kube", "off"],
            stdout=self._log, stderr=subprocess.STDOUT,
        )
        try:
            self._wait_ready(30.0)
            self.admin_token = (self.data_dir / "data" / "admin.token").read_text().strip()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ferry server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=1) as r:
                    if r.status == 200 and (self.data_dir / "data" / "admin.token").exists():
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"ferry server not ready after {timeout}s:\n{self.log()}")

    def log(self) -> str:
        self._log.flush()
        return (self.data_dir / "server.log").read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        self._tmp.cleanup()
