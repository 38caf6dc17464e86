"""The SDK against a real `ferry server --kube off` (no Kubernetes: jobs stay queued)."""

from __future__ import annotations

import itertools
import os
import subprocess
import unittest
from pathlib import Path
from unittest import mock

import support

import ferry
from ferry import config

server: support.FerryServer | None = None
IMAGE = "ferry.local/workload:1"


def setUpModule() -> None:
    global server
    server = support.FerryServer()


def tearDownModule() -> None:
    if server is not None:
        server.stop()


_names = itertools.count()


def unique(prefix: str) -> str:
    return f"{prefix}-{os.getpid() % 10000}-{next(_names)}"


class ServerTest(unittest.TestCase):
    def setUp(self) -> None:
        assert server is not None
        self.admin = ferry.Client(server.url, server.admin_token, timeout=10)

    def tenant(self, **kw) -> ferry.Tenant:
        t = self.admin.create_tenant(ferry.TenantCreate(name=unique("t"), **kw))
        self.addCleanup(self._delete_tenant, t.name)
        return t

    def _delete_tenant(self, name: str) -> None:
        try:
            self.admin.delete_tenant(name)
        except ferry.FerryError as e:
            if e.status != 404:
                raise

    def user(self, admin: bool = False) -> tuple[ferry.UserCreated, ferry.Client]:
        u = self.admin.create_user(ferry.UserCreate(name=unique("u"), admin=admin))
        return u, ferry.Client(self.admin.server, u.token, timeout=10)

    def assertProblem(self, cm, status: int, location: str | None = None) -> ferry.FerryError:
        e = cm.exception
        self.assertIsInstance(e, ferry.FerryError)
        self.assertEqual(e.status, status, str(e))
        self.assertTrue(e.title, "a problem has a title")
        if location is not None:
            self.assertIn(location, e.locations, str(e))
        return e


class TenantsTest(ServerTest):
    def test_whoami_is_the_admin(self):
        who = self.admin.whoami()
        self.assertEqual((who.name, who.admin), ("admin", True))

    def test_create_get_update_delete(self):
        t = self.tenant(display_name="Team A", quota=ferry.QuotaChange(cpu="8"))
        self.assertEqual((t.display_name, t.quota.cpu), ("Team A", "8"))
        self.assertEqual(self.admin.get_tenant(t.name), t)
        u = self.admin.update_tenant(t.name, ferry.TenantUpdate(notebook_idle_seconds=60))
        # only the field given changed: the server filled in nothing else
        self.assertEqual((u.notebook_idle_seconds, u.display_name, u.quota), (60, "Team A", t.quota))
        self.assertGreater(u.generation, t.generation)
        self.admin.delete_tenant(t.name)
        with self.assertRaises(ferry.FerryError) as cm:
            self.admin.get_tenant(t.name)
        self.assertProblem(cm, 404)

    def test_list_pages_with_limit_one_follow_next(self):
        names = {self.tenant().name for _ in range(3)}
        pages = list(self.admin.list_tenants(limit=1).pages())
        self.assertTrue(all(len(p.items) <= 1 for p in pages))
        self.assertGreaterEqual(len(pages), 3)
        self.assertIsNone(pages[-1].next)
        listed = [t.name for t in self.admin.list_tenants(limit=1)]
        self.assertLessEqual(names, set(listed))
        self.assertEqual(len(listed), len(set(listed)), "no tenant twice")
        # resume after a page's cursor
        rest = [t.name for t in self.admin.list_tenants(limit=1, after=pages[0].next)]
        self.assertEqual(rest, listed[1:])

    def test_invalid_name_is_422_at_body_name(self):
        with self.assertRaises(ferry.FerryError) as cm:
            self.admin.create_tenant(ferry.TenantCreate(name="Not_A_Label"))
        e = self.assertProblem(cm, 422, "body.name")
        self.assertEqual(e.errors[0].value, "Not_A_Label")
        self.assertIn("body.name", str(e))

    def test_members_see_their_tenant_and_not_another(self):
        mine, other = self.tenant(), self.tenant()
        u, client = self.user()
        m = self.admin.put_member(mine.name, u.user.name, "viewer")
        self.assertEqual((m.tenant, m.user, m.role), (mine.name, u.user.name, "viewer"))
        self.assertIn(m, list(self.admin.list_members(mine.name)))
        self.assertEqual([x.name for x in client.list_tenants()], [mine.name])
        self.assertEqual([x.tenant for x in client.whoami().memberships], [mine.name])
        with self.assertRaises(ferry.FerryError) as cm:
            client.get_tenant(other.name)
        self.assertProblem(cm, 404)
        with self.assertRaises(ferry.FerryError) as cm:
            client.submit_job(mine.name, ferry.JobSubmit(name="j", image=IMAGE, command=["true"]))
        self.assertProblem(cm, 403)
        with self.assertRaises(ferry.FerryError) as cm:
            client.create_tenant(ferry.TenantCreate(name=unique("t")))
        self.assertProblem(cm, 403)
        self.admin.remove_member(mine.name, u.user.name)
        self.assertNotIn(u.user.name, [x.user for x in self.admin.list_members(mine.name)])
        with self.assertRaises(ferry.FerryError) as cm:
            client.get_tenant(mine.name)
        self.assertProblem(cm, 404)

    def test_bad_role_is_422(self):
        t = self.tenant()
        u, _ = self.user()
        with self.assertRaises(ferry.FerryError) as cm:
            self.admin.put_member(t.name, u.user.name, "emperor")
        self.assertProblem(cm, 422, "body.role")


class TokensTest(ServerTest):
    def test_create_list_use_revoke(self):
        u, client = self.user()
        created = client.create_token(ferry.TokenCreate(name="laptop", expires_in="1h"))
        self.assertTrue(created.secret)
        self.assertIsNotNone(created.expires_at)
        ids = [t.id for t in client.list_tokens()]
        self.assertIn(created.id, ids)
        self.assertEqual(len(ids), 2, "the first token and the new one")
        second = ferry.Client(self.admin.server, created.secret, timeout=10)
        self.assertEqual(second.whoami().name, u.user.name)
        client.revoke_token(created.id)
        self.assertNotIn(created.id, [t.id for t in client.list_tokens()])
        with self.assertRaises(ferry.FerryError) as cm:
            second.whoami()
        self.assertProblem(cm, 401)

    def test_no_token_is_401(self):
        with self.assertRaises(ferry.FerryError) as cm:
            ferry.Client(self.admin.server, "").whoami()
        self.assertProblem(cm, 401)

    def test_unreachable_server_is_a_connection_error(self):
        c = ferry.Client(f"http://127.0.0.1:{support.free_port()}", "x", timeout=2)
        with self.assertRaises(ferry.FerryConnectionError) as cm:
            c.whoami()
        self.assertEqual(cm.exception.status, 0)
        self.assertIn("cannot reach", str(cm.exception))


class JobsTest(ServerTest):
    def test_submit_list_in_order_get(self):
        t = self.tenant()
        submitted = [
            self.admin.submit_job(t.name, ferry.JobSubmit(name=f"j{i}", image=IMAGE, command=["python3", "-c", "1"],
                                                          env={"A": "1"} if i == 0 else None))
            for i in range(3)
        ]
        j0 = submitted[0]
        self.assertEqual((j0.state, j0.spec.replicas, j0.spec.resources.cpu, j0.spec.resources.memory, j0.spec.max_retries),
                         ("queued", 1, "1", "1Gi", 0), "the server filled in the defaults")
        self.assertEqual(j0.spec.env, {"A": "1"})
        self.assertEqual(j0.created_by, "admin")
        pages = list(self.admin.list_jobs(t.name, limit=1).pages())
        self.assertTrue(all(len(p.items) <= 1 for p in pages))
        self.assertEqual([j.name for p in pages for j in p.items], ["j0", "j1", "j2"])
        self.assertEqual(self.admin.get_job(t.name, "j1").name, "j1")
        two = self.admin.submit_job(t.name, ferry.JobSubmit(name="big", image=IMAGE, command=["true"], replicas=2,
                                                            resources=ferry.Resources(cpu="500m"), max_retries=3))
        self.assertEqual((two.spec.replicas, two.spec.resources.cpu, two.spec.max_retries), (2, "500m", 3))

    def test_invalid_submissions_name_the_field(self):
        t = self.tenant()
        for body, loc in [
            (ferry.JobSubmit(name="j", image="Not An Image", command=["true"]), "body.image"),
            (ferry.JobSubmit(name="j", image=IMAGE, command=[]), "body.command"),
            (ferry.JobSubmit(name="j", image=IMAGE, command=["true"], replicas=65), "body.replicas"),
            (ferry.JobSubmit(name="j", image=IMAGE, command=["true"], env={"RANK": "0"}), "body.env"),
        ]:
            with self.subTest(loc=loc), self.assertRaises(ferry.FerryError) as cm:
                self.admin.submit_job(t.name, body)
            self.assertProblem(cm, 422, loc)

    def test_without_kubernetes_cancel_and_logs_answer_503_problems(self):
        t = self.tenant()
        self.admin.submit_job(t.name, ferry.JobSubmit(name="q", image=IMAGE, command=["true"]))
        for call in (lambda: self.admin.cancel_job(t.name, "q"), lambda: self.admin.job_logs(t.name, "q", follow=True)):
            with self.assertRaises(ferry.FerryError) as cm:
                call()
            e = self.assertProblem(cm, 503)
            self.assertEqual(e.title, "Service Unavailable")
            self.assertIn("no Kubernetes", e.detail)

    def test_wait_times_out_on_a_queued_job(self):
        t = self.tenant()
        self.admin.submit_job(t.name, ferry.JobSubmit(name="q", image=IMAGE, command=["true"]))
        with self.assertRaises(TimeoutError) as cm:
            self.admin.wait_job(t.name, "q", timeout=0.3, interval=0.1)
        self.assertIn("queued", str(cm.exception))

    def test_missing_job_is_404(self):
        t = self.tenant()
        with self.assertRaises(ferry.FerryError) as cm:
            self.admin.get_job(t.name, "nope")
        self.assertProblem(cm, 404)
        with self.assertRaises(ferry.FerryError) as cm:
            self.admin.wait_job(t.name, "nope", timeout=5)
        self.assertProblem(cm, 404)


class NotebooksTest(ServerTest):
    def test_create_list_get_stop_start_delete(self):
        t = self.tenant()
        nb = self.admin.create_notebook(t.name, ferry.NotebookCreate(name="nb1", image=IMAGE, workspace="2Gi"))
        self.assertEqual((nb.name, nb.workspace, nb.resources.cpu), ("nb1", "2Gi", "1"))
        self.assertTrue(nb.url)
        self.admin.create_notebook(t.name, ferry.NotebookCreate(name="nb2", image=IMAGE, resources=ferry.Resources(memory="3Gi")))
        pages = list(self.admin.list_notebooks(t.name, limit=1).pages())
        self.assertTrue(all(len(p.items) <= 1 for p in pages))
        self.assertEqual(sorted(n.name for p in pages for n in p.items), ["nb1", "nb2"])
        self.assertEqual(self.admin.get_notebook(t.name, "nb2").resources.memory, "3Gi")
        for call in (self.admin.stop_notebook, self.admin.start_notebook):
            with self.assertRaises(ferry.FerryError) as cm:
                call(t.name, "nb1")
            self.assertProblem(cm, 503)
        self.admin.delete_notebook(t.name, "nb1")
        with self.assertRaises(ferry.FerryError) as cm:
            self.admin.get_notebook(t.name, "nb1")
        self.assertProblem(cm, 404)
        self.assertEqual([n.name for n in self.admin.list_notebooks(t.name)], ["nb2"])

    def test_invalid_notebook_is_422(self):
        t = self.tenant()
        with self.assertRaises(ferry.FerryError) as cm:
            self.admin.create_notebook(t.name, ferry.NotebookCreate(name="-x", image=IMAGE))
        self.assertProblem(cm, 422, "body.name")


class AuditTest(ServerTest):
    def test_calls_write_audit_rows_and_the_chain_verifies(self):
        t = self.tenant()
        self.admin.submit_job(t.name, ferry.JobSubmit(name="a", image=IMAGE, command=["true"]))
        self.admin.create_notebook(t.name, ferry.NotebookCreate(name="n", image=IMAGE))
        with self.assertRaises(ferry.FerryError):
            self.admin.submit_job(t.name, ferry.JobSubmit(name="Bad", image=IMAGE, command=["true"]))
        rows = list(self.admin.list_audit(tenant=t.name, limit=1))
        self.assertEqual([r.action for r in rows], ["submitJob", "createNotebook", "submitJob", "createTenant"])
        self.assertEqual([r.result for r in rows], ["invalid", "ok", "ok", "ok"])
        self.assertEqual(rows[2].target, "job/a")
        self.assertTrue(all(r.tenant == t.name and r.actor == "admin" for r in rows))
        self.assertEqual([r.id for r in rows], sorted((r.id for r in rows), reverse=True), "newest first")
        u, client = self.user()
        client.create_token(ferry.TokenCreate(name="x"))
        self.assertEqual([r.action for r in self.admin.list_audit(actor=u.user.name)], ["createToken"])
        v = self.admin.verify_audit()
        self.assertTrue(v.ok)
        self.assertIsNone(v.broken_at)

    def test_verify_is_admins_only(self):
        _, client = self.user()
        with self.assertRaises(ferry.FerryError) as cm:
            client.verify_audit()
        self.assertProblem(cm, 403)


class ConfigTest(ServerTest):
    def test_client_reads_ferry_server_and_ferry_token(self):
        with mock.patch.dict(os.environ, {"FERRY_SERVER": self.admin.server, "FERRY_TOKEN": server.admin_token}):
            self.assertEqual(ferry.Client().whoami().name, "admin")

    def test_client_reads_the_context_that_ferry_login_wrote(self):
        u, _ = self.user()
        path = server.data_dir / f"config-{unique('c')}.yaml"
        env = dict(os.environ, FERRY_CONFIG=str(path))
        for ctx, tok in (("admin", server.admin_token), ("dev", u.token)):
            subprocess.run([server.bin, "login", "--context", ctx, "--server", self.admin.server + "/", "--token", tok],
                           env=env, check=True, capture_output=True, timeout=30)
        clean = {k: v for k, v in os.environ.items() if k not in ("FERRY_SERVER", "FERRY_TOKEN", "FERRY_CONTEXT")}
        with mock.patch.dict(os.environ, dict(clean, FERRY_CONFIG=str(path)), clear=True):
            self.assertEqual(ferry.Client().whoami().name, u.user.name, "the current context is the last login")
            self.assertEqual(ferry.Client(context="admin").whoami().name, "admin")
            with self.assertRaises(ferry.ConfigError):
                ferry.Client(context="nope")
            # a token of the config goes only to its own server
            other = ferry.Client("http://127.0.0.1:1")
            self.assertEqual(other._token, "")
            # FERRY_TOKEN wins over the config's token
            with mock.patch.dict(os.environ, {"FERRY_TOKEN": server.admin_token}):
                self.assertEqual(ferry.Client().whoami().name, "admin")
        # the reader that works without python3-yaml reads what the CLI wrote
        text = Path(path).read_text()
        parsed = config._parse_block(text)
        self.assertEqual(parsed["current"], "dev")
        self.assertEqual([c["name"] for c in parsed["contexts"]], ["admin", "dev"])
        self.assertEqual(parsed["contexts"][1]["token"], u.token)
        try:
            import yaml  # type: ignore[import-untyped]
        except ImportError:
            return
        self.assertEqual(parsed, yaml.safe_load(text))

    def test_default_client_is_made_once_and_replaceable(self):
        with mock.patch.dict(os.environ, {"FERRY_SERVER": self.admin.server, "FERRY_TOKEN": server.admin_token}):
            ferry.set_default_client(None)
            self.addCleanup(ferry.set_default_client, None)
            c = ferry.default_client()
            self.assertIs(ferry.default_client(), c)
            mine = ferry.Client(self.admin.server, "")
            ferry.set_default_client(mine)
            self.assertIs(ferry.default_client(), mine)


if __name__ == "__main__":
    unittest.main()
