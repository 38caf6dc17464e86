"""The SDK against a real `ferry server --kube off` (no Kubernetes: jobs stay queued)."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import unittest
import urllib.error
import urllib.request
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


class UserAdminTest(ServerTest):
    def test_disable_refuses_the_users_tokens_and_enable_restores_them(self):
        u, client = self.user()
        self.assertEqual(client.whoami().name, u.user.name)
        self.assertFalse(u.user.disabled)
        d = self.admin.disable_user(u.user.name)
        self.assertEqual((d.name, d.id, d.disabled), (u.user.name, u.user.id, True))
        with self.assertRaises(ferry.FerryError) as cm:
            client.whoami()
        self.assertProblem(cm, 401)
        e = self.admin.enable_user(u.user.name)
        self.assertEqual(e.name, u.user.name)
        self.assertFalse(e.disabled)
        who = client.whoami()
        self.assertEqual(who.name, u.user.name)
        self.assertFalse(who.disabled)

    def test_disable_and_enable_are_admins_only_and_an_admin_keeps_itself(self):
        u, client = self.user()
        other, _ = self.user()
        for call in (client.disable_user, client.enable_user):
            with self.subTest(call=call.__name__), self.assertRaises(ferry.FerryError) as cm:
                call(other.user.name)
            self.assertProblem(cm, 403)
        with self.assertRaises(ferry.FerryError) as cm:
            self.admin.disable_user("admin")
        self.assertProblem(cm, 409)
        with self.assertRaises(ferry.FerryError) as cm:
            self.admin.disable_user(unique("nobody"))
        self.assertProblem(cm, 404, "path.user")
        self.assertEqual(self.admin.whoami().name, "admin")

    def test_an_admin_lists_and_revokes_another_users_token(self):
        u, client = self.user()
        laptop = client.create_token(ferry.TokenCreate(name="laptop"))
        listed = list(self.admin.list_user_tokens(u.user.name))
        self.assertEqual(sorted(t.name for t in listed), ["first", "laptop"])
        self.assertIn(laptop.id, [t.id for t in listed])
        self.assertTrue(all(isinstance(t, ferry.Token) for t in listed))
        self.admin.revoke_user_token(u.user.name, laptop.id)
        self.assertEqual([t.name for t in self.admin.list_user_tokens(u.user.name)], ["first"])
        with self.assertRaises(ferry.FerryError) as cm:
            ferry.Client(self.admin.server, laptop.secret, timeout=10).whoami()
        self.assertProblem(cm, 401)
        self.assertEqual(client.whoami().name, u.user.name, "the user's other token still works")
        with self.assertRaises(ferry.FerryError) as cm:
            self.admin.revoke_user_token(u.user.name, laptop.id)
        self.assertProblem(cm, 404)

    def test_listing_another_users_tokens_is_admins_only(self):
        u, client = self.user()
        other, _ = self.user()
        with self.assertRaises(ferry.FerryError) as cm:
            list(client.list_user_tokens(other.user.name))
        self.assertProblem(cm, 403)
        first = next(iter(self.admin.list_user_tokens(other.user.name)))
        with self.assertRaises(ferry.FerryError) as cm:
            client.revoke_user_token(other.user.name, first.id)
        self.assertProblem(cm, 403)


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


class NotebookSessionTest(ServerTest):
    def test_a_session_of_an_existing_notebook_is_a_one_time_code(self):
        t = self.tenant()
        self.admin.create_notebook(t.name, ferry.NotebookCreate(name="nb", image=IMAGE))
        h = self.admin.create_notebook_session(t.name, "nb")
        self.assertIsInstance(h, ferry.NotebookHandover)
        self.assertEqual((h.tenant, h.name), (t.name, "nb"))
        self.assertTrue(h.code.startswith("fnh_"), h.code)
        self.assertTrue(h.url.startswith("/"), "relative to the server")
        self.assertIn(h.code, h.url)
        self.assertNotIn(server.admin_token, h.url, "the URL carries the code, never the token")
        self.assertIsNotNone(h.expires_at.tzinfo)
        again = self.admin.create_notebook_session(t.name, "nb")
        self.assertNotEqual(again.code, h.code, "each call makes a fresh code")

    def test_a_session_needs_an_existing_notebook_and_an_editor(self):
        t = self.tenant()
        self.admin.create_notebook(t.name, ferry.NotebookCreate(name="nb", image=IMAGE))
        with self.assertRaises(ferry.FerryError) as cm:
            self.admin.create_notebook_session(t.name, "nope")
        self.assertProblem(cm, 404)
        u, client = self.user()
        self.admin.put_member(t.name, u.user.name, "viewer")
        with self.assertRaises(ferry.FerryError) as cm:
            client.create_notebook_session(t.name, "nb")
        self.assertProblem(cm, 403)
        self.admin.put_member(t.name, u.user.name, "editor")
        self.assertEqual(client.create_notebook_session(t.name, "nb").name, "nb")


class DashboardLoginTest(ServerTest):
    """ferry ui's hand-over: a one-time code that the dashboard trades for a session cookie."""

    def test_a_dashboard_login_code_is_one_time_and_sets_a_strict_cookie(self):
        h = self.admin.create_ui_session()
        self.assertIsInstance(h, ferry.UIHandover)
        self.assertTrue(h.code.startswith("fuh_"), h.code)
        self.assertTrue(h.url.startswith("/ui/login?code="), h.url)
        self.assertNotIn(server.admin_token, h.url, "the URL carries the code, never the token")
        self.assertIsNotNone(h.expires_at.tzinfo)

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        opener = urllib.request.build_opener(NoRedirect)
        with self.assertRaises(urllib.error.HTTPError) as cm:
            opener.open(self.admin.server + h.url, timeout=10)
        self.assertEqual(cm.exception.code, 303)
        cookie = cm.exception.headers.get("Set-Cookie", "")
        self.assertIn("ferry_ui=", cookie)
        self.assertIn("HttpOnly", cookie)
        self.assertIn("SameSite=Strict", cookie)
        with self.assertRaises(urllib.error.HTTPError) as cm:
            opener.open(self.admin.server + h.url, timeout=10)
        self.assertEqual(cm.exception.code, 401, "a code works once")


class TrackingTest(ServerTest):
    """Experiments, runs and models written through the MLflow-compatible API, read through the SDK."""

    def mlflow(self, tenant: str, path: str, body: dict) -> dict:
        req = urllib.request.Request(
            f"{self.admin.server}/mlflow/{tenant}/api/2.0/mlflow/{path}", data=json.dumps(body).encode(), method="POST",
            headers={"Authorization": "Bearer " + server.admin_token, "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"{}")

    def test_experiments_runs_and_metrics(self):
        t = self.tenant()
        exp = self.mlflow(t.name, "experiments/create", {"name": "exp-a", "tags": [{"key": "k", "value": "v"}]})["experiment_id"]
        run_ids = []
        for i in range(3):
            info = self.mlflow(t.name, "runs/create", {"experiment_id": exp, "run_name": f"r{i}",
                                                       "start_time": 1700000000000 + i})["run"]["info"]
            run_ids.append(info["run_id"])
        self.mlflow(t.name, "runs/log-batch", {
            "run_id": run_ids[0],
            "metrics": [{"key": "acc", "value": 0.5, "timestamp": 1700000000100, "step": 1},
                        {"key": "acc", "value": 0.75, "timestamp": 1700000000200, "step": 2},
                        {"key": "loss", "value": "NaN", "timestamp": 1700000000200, "step": 2}],
            "params": [{"key": "lr", "value": "0.1"}],
            "tags": [{"key": "team", "value": "a"}],
        })

        experiments = list(self.admin.list_experiments(t.name))
        by_name = {e.name: e for e in experiments}
        self.assertLessEqual({"Default", "exp-a"}, set(by_name))
        self.assertEqual((by_name["exp-a"].id, by_name["exp-a"].lifecycle_stage, by_name["exp-a"].tags), (exp, "active", {"k": "v"}))
        self.assertEqual(by_name["Default"].id, "0")
        pages = list(self.admin.list_experiments(t.name, limit=1).pages())
        self.assertEqual([e.id for p in pages for e in p.items], [e.id for e in experiments])
        self.assertTrue(all(len(p.items) <= 1 for p in pages))

        pages = list(self.admin.list_runs(t.name, experiment=exp, limit=2).pages())
        self.assertEqual([len(p.items) for p in pages], [2, 1])
        self.assertEqual(sorted(r.id for p in pages for r in p.items), sorted(run_ids))
        self.assertEqual([r.name for r in self.admin.list_runs(t.name, experiment=exp)], ["r2", "r1", "r0"], "newest first")
        self.assertEqual(list(self.admin.list_runs(t.name)), [], "the Default experiment has no runs")

        run = self.admin.get_run(t.name, run_ids[0])
        self.assertEqual((run.id, run.experiment_id, run.name, run.user, run.status), (run_ids[0], exp, "r0", "admin", "RUNNING"))
        self.assertEqual(run.start_time.timestamp(), 1700000000.0)
        self.assertIsNone(run.end_time)
        self.assertEqual(run.params, {"lr": "0.1"})
        self.assertEqual(run.tags.get("team"), "a")
        acc = run.metric("acc")
        self.assertEqual((acc.value, acc.step, acc.timestamp), (0.75, 2, 1700000000200), "the latest point")
        self.assertEqual(run.metric("loss").value, "NaN")
        self.assertIsNone(run.metric("nope"))
        with self.assertRaises(ferry.FerryError) as cm:
            self.admin.get_run(t.name, "0" * 32)
        self.assertProblem(cm, 404)

    def test_models_and_versions(self):
        t = self.tenant()
        run = self.mlflow(t.name, "runs/create", {"run_name": "train"})["run"]["info"]["run_id"]
        for name in ("m-b", "m-a"):
            self.mlflow(t.name, "registered-models/create", {"name": name, "description": f"{name} model"})
        for _ in range(2):
            self.mlflow(t.name, "model-versions/create", {"name": "m-a", "source": f"runs:/{run}/model", "run_id": run})

        self.assertEqual([m.name for m in self.admin.list_models(t.name)], ["m-a", "m-b"], "by name")
        pages = list(self.admin.list_models(t.name, limit=1).pages())
        self.assertEqual([m.name for p in pages for m in p.items], ["m-a", "m-b"])
        m = self.admin.get_model(t.name, "m-a")
        self.assertEqual((m.name, m.description, m.latest_version, m.created_by), ("m-a", "m-a model", 2, "admin"))
        self.assertIsNone(self.admin.get_model(t.name, "m-b").latest_version)

        versions = list(self.admin.list_model_versions(t.name, "m-a"))
        self.assertEqual([v.version for v in versions], [2, 1], "newest first")
        self.assertTrue(all(v.model == "m-a" and v.run_id == run and v.source == f"runs:/{run}/model" for v in versions))
        pages = list(self.admin.list_model_versions(t.name, "m-a", limit=1).pages())
        self.assertEqual([v.version for p in pages for v in p.items], [2, 1])
        self.assertEqual(list(self.admin.list_model_versions(t.name, "m-b")), [])
        self.assertEqual(self.admin.get_model_version(t.name, "m-a", 1), versions[1], "one version reads as the list shows it")
        with self.assertRaises(ferry.FerryError) as cm:
            self.admin.get_model_version(t.name, "m-a", 0)
        self.assertProblem(cm, 422, "path.version")
        for call in (lambda: self.admin.get_model(t.name, "nope"), lambda: list(self.admin.list_model_versions(t.name, "nope")),
                     lambda: self.admin.get_model_version(t.name, "nope", 1), lambda: self.admin.get_model_version(t.name, "m-a", 3)):
            with self.assertRaises(ferry.FerryError) as cm:
                call()
            self.assertProblem(cm, 404)

    def test_a_non_member_sees_no_tracking_data(self):
        t = self.tenant()
        _, client = self.user()
        for call in (lambda: list(client.list_experiments(t.name)), lambda: list(client.list_runs(t.name)),
                     lambda: list(client.list_models(t.name))):
            with self.assertRaises(ferry.FerryError) as cm:
                call()
            self.assertProblem(cm, 404)


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
