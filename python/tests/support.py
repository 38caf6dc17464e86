"""Test support: the SDK from this tree, and a real `ferry server` on 127.0.0.1.

The server binary is $FERRY_BIN, else bin/ferry at the repository root
(`make build`). Without either, the server tests skip and say so. The
contract is api/v1/openapi.json, or the file $FERRY_OPENAPI names.
SharedServer gives a test module one server; TenantTestCase gives each of
its tests a fresh tenant there.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import itertools
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request
from pathlib import Path
from unittest import mock

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

    def mint_run_token(self, tenant: str, run_id: str, user: str = "admin") -> str:
        """A token of user that may write only to one run, as the job controller mints for a job's pods
        (store.CreateScopedToken with store.RunScope), written straight into the server's database:
        with --kube off no controller mints one."""
        secret, _ = self._mint_scoped_token(f"run:{tenant}:{run_id}", user, "run token (test)")
        return secret

    def mint_notebook_token(self, tenant: str, notebook: str, user: str) -> str:
        """The token the notebook controller gives a notebook's pod (store.MintNotebookToken): its
        creator's role in one tenant, at most editor (store.NotebookScope), recorded as the notebook's
        so deleting the notebook revokes it; written straight into the database (--kube off)."""
        secret, token_id = self._mint_scoped_token(f"tenant:{tenant}:notebook:{notebook}", user, f"notebook {tenant}/{notebook}")
        with contextlib.closing(sqlite3.connect(self.data_dir / "data" / "ferry.db", timeout=10)) as db, db:
            n = db.execute("UPDATE notebooks SET token_id = ?, token_written = 1 WHERE tenant = ? AND name = ?",
                           (token_id, tenant, notebook)).rowcount
        if n != 1:
            raise RuntimeError(f"no notebook {tenant}/{notebook} to mint a token for")
        return secret

    def _mint_scoped_token(self, scope: str, user: str, name: str) -> tuple[str, str]:
        """A live token of user with scope, straight into the database; its secret and id."""
        secret = "ferry_" + base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
        token_id = secrets.token_hex(8)
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        with contextlib.closing(sqlite3.connect(self.data_dir / "data" / "ferry.db", timeout=10)) as db, db:
            n = db.execute("""INSERT INTO tokens (id, user_id, name, hash, created_at, scope)
                SELECT ?, id, ?, ?, ?, ? FROM users WHERE name = ?""",
                           (token_id, name, hashlib.sha256(secret.encode()).hexdigest(), now, scope, user)).rowcount
        if n != 1:
            raise RuntimeError(f"no user {user} to mint a token for")
        return secret, token_id

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


class SharedServer:
    """One FerryServer for the tests of a module, started by setUpModule and stopped by tearDownModule::

        shared = support.SharedServer()
        setUpModule, tearDownModule = shared.start, shared.stop
    """

    def __init__(self) -> None:
        self._server: FerryServer | None = None

    def start(self) -> None:
        self._server = FerryServer()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    @property
    def server(self) -> FerryServer:
        """The running server (a test outside setUpModule fails here)."""
        if self._server is None:
            raise RuntimeError("the module's ferry server is not running: set setUpModule = shared.start")
        return self._server


_tenant_ids = itertools.count()


class TenantTestCase(unittest.TestCase):
    """A fresh tenant on the module's server for each test, deleted after it.

    A subclass sets ``shared`` (its module's :class:`SharedServer`) and
    ``tenant_prefix``; each test has ``self.server``, ``self.admin`` (a
    Client with the admin token and no default tenant) and ``self.tenant``.
    """

    shared: SharedServer
    tenant_prefix = "t"

    def setUp(self) -> None:
        import ferry  # this tree's package (sys.path above)

        self.server = self.shared.server
        self.admin = ferry.Client(self.server.url, self.server.admin_token, timeout=10)
        self.tenant = f"{self.tenant_prefix}-{os.getpid() % 10000}-{next(_tenant_ids)}"
        self.admin.create_tenant(ferry.TenantCreate(name=self.tenant))
        self.addCleanup(self.admin.delete_tenant, self.tenant)

    def patch_env(self, env: dict[str, str]) -> None:
        """Sets environment variables for this test only ("" to blank one)."""
        patcher = mock.patch.dict(os.environ, env)
        patcher.start()
        self.addCleanup(patcher.stop)
