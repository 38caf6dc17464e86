"""The Client: one method per operation of ferry's API (api/v1/openapi.json).

Requests and answers are the dataclasses of :mod:`ferry.models`; a failed
call raises :class:`ferry.FerryError` carrying the server's problem; list
methods return a :class:`Pager` that follows the ``next`` cursors lazily.
Every call has a timeout (connecting and each read) and reads a bounded
answer. A Client holds no connection between calls, so one Client may be
shared by threads.
"""

from __future__ import annotations

import math
from typing import Any

from . import models as m
from .artifact_files import ArtifactFilesMixin
from .dsl import PipelineFunction
from .inference import DeploymentsAPI, InferResponse, infer
from .pipelines import PIPELINE_OPERATIONS, PipelineRun, PipelinesMixin
from .pages import page_url
from .pipelines_api import PipelinesAPI
from .serving import SERVING_OPERATIONS, ServingMixin
from .tuning import TUNING_OPERATIONS, TuningMixin, TuningsAPI
from .monitoring import MONITORING_OPERATIONS, MonitoringMixin
from .transport import (  # noqa: F401  (re-exported: ferry.client was their home)
    MAX_ANSWER_BYTES, MAX_ERROR_BYTES, MAX_LOG_LINE, LogStream, Pager, Transport, __version__, _fill, _query_value, _read,
)
from .transport import _poll

__all__ = ["Client", "LogStream", "OPERATIONS", "Pager"]

#: operationId -> (HTTP method, path template, Client method). The methods
#: below send their requests through this table, and a test checks it
#: against the OpenAPI document, so a path changed there fails here.
OPERATIONS: dict[str, tuple[str, str, str]] = {
    "whoami": ("GET", "/api/v1/whoami", "whoami"),
    "createTenant": ("POST", "/api/v1/tenants", "create_tenant"),
    "listTenants": ("GET", "/api/v1/tenants", "list_tenants"),
    "getTenant": ("GET", "/api/v1/tenants/{tenant}", "get_tenant"),
    "updateTenant": ("PATCH", "/api/v1/tenants/{tenant}", "update_tenant"),
    "deleteTenant": ("DELETE", "/api/v1/tenants/{tenant}", "delete_tenant"),
    "listMembers": ("GET", "/api/v1/tenants/{tenant}/members", "list_members"),
    "putMember": ("PUT", "/api/v1/tenants/{tenant}/members/{user}", "put_member"),
    "deleteMember": ("DELETE", "/api/v1/tenants/{tenant}/members/{user}", "remove_member"),
    "createUser": ("POST", "/api/v1/users", "create_user"),
    "createToken": ("POST", "/api/v1/tokens", "create_token"),
    "listTokens": ("GET", "/api/v1/tokens", "list_tokens"),
    "revokeToken": ("DELETE", "/api/v1/tokens/{id}", "revoke_token"),
    "disableUser": ("POST", "/api/v1/users/{user}/disable", "disable_user"),
    "enableUser": ("POST", "/api/v1/users/{user}/enable", "enable_user"),
    "listUserTokens": ("GET", "/api/v1/users/{user}/tokens", "list_user_tokens"),
    "revokeUserToken": ("DELETE", "/api/v1/users/{user}/tokens/{id}", "revoke_user_token"),
    "listAudit": ("GET", "/api/v1/audit", "list_audit"),
    "verifyAudit": ("GET", "/api/v1/audit/verify", "verify_audit"),
    "submitJob": ("POST", "/api/v1/tenants/{tenant}/jobs", "submit_job"),
    "listJobs": ("GET", "/api/v1/tenants/{tenant}/jobs", "list_jobs"),
    "getJob": ("GET", "/api/v1/tenants/{tenant}/jobs/{name}", "get_job"),
    "cancelJob": ("POST", "/api/v1/tenants/{tenant}/jobs/{name}/cancel", "cancel_job"),
    "jobLogs": ("GET", "/api/v1/tenants/{tenant}/jobs/{name}/logs", "job_logs"),
    "createNotebook": ("POST", "/api/v1/tenants/{tenant}/notebooks", "create_notebook"),
    "listNotebooks": ("GET", "/api/v1/tenants/{tenant}/notebooks", "list_notebooks"),
    "getNotebook": ("GET", "/api/v1/tenants/{tenant}/notebooks/{name}", "get_notebook"),
    "stopNotebook": ("POST", "/api/v1/tenants/{tenant}/notebooks/{name}/stop", "stop_notebook"),
    "startNotebook": ("POST", "/api/v1/tenants/{tenant}/notebooks/{name}/start", "start_notebook"),
    "deleteNotebook": ("DELETE", "/api/v1/tenants/{tenant}/notebooks/{name}", "delete_notebook"),
    "createNotebookSession": ("POST", "/api/v1/tenants/{tenant}/notebooks/{name}/session", "create_notebook_session"),
    "createUISession": ("POST", "/api/v1/ui/session", "create_ui_session"),
    "listExperiments": ("GET", "/api/v1/tenants/{tenant}/experiments", "list_experiments"),
    "listRuns": ("GET", "/api/v1/tenants/{tenant}/runs", "list_runs"),
    "getRun": ("GET", "/api/v1/tenants/{tenant}/runs/{run}", "get_run"),
    "listModels": ("GET", "/api/v1/tenants/{tenant}/models", "list_models"),
    "getModel": ("GET", "/api/v1/tenants/{tenant}/models/{model}", "get_model"),
    "listModelVersions": ("GET", "/api/v1/tenants/{tenant}/models/{model}/versions", "list_model_versions"),
    "getModelVersion": ("GET", "/api/v1/tenants/{tenant}/models/{model}/versions/{version}", "get_model_version"),
    "registerModelVersion": ("POST", "/api/v1/tenants/{tenant}/models/{model}/versions", "register_model_version"),
    "setModelAlias": ("PUT", "/api/v1/tenants/{tenant}/models/{model}/aliases/{alias}", "set_model_alias"),
    "deleteModelAlias": ("DELETE", "/api/v1/tenants/{tenant}/models/{model}/aliases/{alias}", "delete_model_alias"),
    "getMetricHistory": ("GET", "/api/v1/tenants/{tenant}/runs/{run}/metrics/{key}", "metric_history"),
    "listRunArtifacts": ("GET", "/api/v1/tenants/{tenant}/runs/{run}/artifacts", "list_run_artifacts"),
    "getArtifactLineage": ("GET", "/api/v1/tenants/{tenant}/lineage/artifacts/{digest}", "artifact_lineage"),
    "getModelVersionLineage": ("GET", "/api/v1/tenants/{tenant}/models/{model}/versions/{version}/lineage",
                               "model_version_lineage"),
}

#: operations this SDK leaves to the node agents
OPERATIONS.update(PIPELINE_OPERATIONS)
OPERATIONS.update(SERVING_OPERATIONS)
OPERATIONS.update(TUNING_OPERATIONS)
OPERATIONS.update(MONITORING_OPERATIONS)
NOT_IN_SDK = frozenset({"listSeedImages", "seedArchive", "uploadSeedBundle", "listSeedStatus", "reportSeedStatus"})


class Client(PipelinesMixin, ServingMixin, TuningMixin, MonitoringMixin, ArtifactFilesMixin, Transport):
    """A client of one ferry server: one method per operation of its API.

    ``Client()`` finds its server and token in ``FERRY_SERVER`` /
    ``FERRY_TOKEN`` (which ferry sets in its notebooks), else in the CLI's
    current context (``ferry login``); see :mod:`ferry.config`. Arguments:
    ``server``, ``token``, ``tenant`` (the default tenant of the methods that
    take one, else ``FERRY_TENANT``), ``gateway`` (where deployments answer),
    ``timeout`` (seconds, connecting and each read), ``context``,
    ``config_path``, ``ssl_context``.
    """

    OPERATIONS = OPERATIONS

    # --- by resource and verb ----------------------------------------------------------

    @property
    def pipelines(self) -> PipelinesAPI:
        """Pipelines by verb: ``client.pipelines.create/run/get/wait/logs/...`` (see :mod:`ferry.pipelines_api`)."""
        return PipelinesAPI(self)

    @property
    def deployments(self) -> DeploymentsAPI:
        """Deployments by verb: ``client.deployments.create/get/update/promote/rollback/delete/...``."""
        return DeploymentsAPI(self)

    @property
    def tunings(self) -> TuningsAPI:
        """Tunings by verb: ``client.tunings.create/get/trials/best/stop/wait``."""
        return TuningsAPI(self)

    def run(self, pipeline: PipelineFunction | str, params: dict[str, Any] | None = None, *,
            version: int | None = None, tenant: str | None = None) -> PipelineRun:
        """Submits a run of a ``@ferry.pipeline`` (created or reused first) or of a stored pipeline by name."""
        return self.pipelines.run(pipeline, params, version=version, tenant=tenant)

    def infer(self, deployment: str, inputs: Any, *, model: str | None = None, tenant: str | None = None,
              key: str | None = None, outputs: list[str] | None = None, parameters: dict[str, Any] | None = None,
              id: str | None = None, timeout: float | None = None) -> InferResponse:
        """Asks a deployment for predictions through the gateway (Open Inference Protocol v2).

        ``inputs``: ``{name: nested lists or array}``, :class:`ferry.InferInput`
        tensors, or one nested list (the tensor ``input-0``); shapes and
        datatypes come from the values (see :func:`ferry.tensor`). ``model``
        defaults to the deployment's name (what ferry's sklearn runtime
        serves); ``key`` is a deployment API key to use instead of the token.
        """
        return infer(self, deployment, inputs, model=model, tenant=tenant, key=key, outputs=outputs,
                     parameters=parameters, id=id, timeout=timeout)

    def page_url(self, kind: str, *values: str | None) -> str:
        """The dashboard page of an object on this server: ``page_url("job", "team-a", "train")``.

        ``kind`` is a key of :data:`ferry.pages.PAGES`; ``values`` fill its
        pattern in order (the tenant, then the object's name or id), each
        path-escaped; a missing one links to the nearest page above it.
        """
        return page_url(self.server, kind, *values)

    # --- caller, tenants, members, users, tokens ---------------------------------

    def whoami(self) -> m.Whoami:
        """The caller and its memberships."""
        return m.Whoami.from_json(self._call("whoami"))

    def create_tenant(self, body: m.TenantCreate) -> m.Tenant:
        """Creates a tenant (admins)."""
        return m.Tenant.from_json(self._call("createTenant", body=body))

    def list_tenants(self, *, limit: int | None = None, after: str | None = None) -> Pager[m.Tenant]:
        """The tenants the caller can see; ``limit`` is the page size (1..1000)."""
        return self._pager("listTenants", m.Tenant, limit=limit, after=after)

    def get_tenant(self, tenant: str) -> m.Tenant:
        """Reads a tenant (404 when it does not exist or the caller is no member)."""
        return m.Tenant.from_json(self._call("getTenant", (tenant,)))

    def update_tenant(self, tenant: str, body: m.TenantUpdate) -> m.Tenant:
        """Changes the fields the update sets (owner; the quota: admins)."""
        return m.Tenant.from_json(self._call("updateTenant", (tenant,), body=body))

    def delete_tenant(self, tenant: str) -> None:
        """Deletes a tenant and everything in it (admins)."""
        self._call("deleteTenant", (tenant,))

    def list_members(self, tenant: str) -> Pager[m.Member]:
        """A tenant's members."""
        return self._pager("listMembers", m.Member, (tenant,))

    def put_member(self, tenant: str, user: str, role: str) -> m.Member:
        """Gives a user a role (owner, editor or viewer) in a tenant."""
        return m.Member.from_json(self._call("putMember", (tenant, user), body=m.MemberPut(role=role)))

    def remove_member(self, tenant: str, user: str) -> None:
        """Removes a user's role in a tenant."""
        self._call("deleteMember", (tenant, user))

    def create_user(self, body: m.UserCreate) -> m.UserCreated:
        """Creates a user and its first token (admins)."""
        return m.UserCreated.from_json(self._call("createUser", body=body))

    def create_token(self, body: m.TokenCreate) -> m.TokenCreated:
        """Creates a token for the caller; its secret is in the answer only."""
        return m.TokenCreated.from_json(self._call("createToken", body=body))

    def list_tokens(self) -> Pager[m.Token]:
        """The caller's live tokens."""
        return self._pager("listTokens", m.Token)

    def revoke_token(self, id: str) -> None:
        """Revokes one of the caller's tokens."""
        self._call("revokeToken", (id,))

    def disable_user(self, user: str) -> m.User:
        """Disables a user (admins): its tokens are refused at once, until :meth:`enable_user`."""
        return m.User.from_json(self._call("disableUser", (user,)))

    def enable_user(self, user: str) -> m.User:
        """Enables a disabled user again (admins); its live tokens work again."""
        return m.User.from_json(self._call("enableUser", (user,)))

    def list_user_tokens(self, user: str) -> Pager[m.Token]:
        """A user's live tokens, without their secrets (admins)."""
        return self._pager("listUserTokens", m.Token, (user,))

    def revoke_user_token(self, user: str, id: str) -> None:
        """Revokes one of a user's tokens (admins)."""
        self._call("revokeUserToken", (user, id))

    # --- audit ---------------------------------------------------------------------

    def list_audit(self, *, tenant: str | None = None, actor: str | None = None,
                   limit: int | None = None, after: str | None = None) -> Pager[m.AuditEntry]:
        """Audit rows, newest first, optionally of one tenant or one actor."""
        return self._pager("listAudit", m.AuditEntry, query={"tenant": tenant, "actor": actor}, limit=limit, after=after)

    def verify_audit(self) -> m.AuditVerify:
        """Checks the audit log's hash chain (admins)."""
        return m.AuditVerify.from_json(self._call("verifyAudit"))

    # --- jobs ----------------------------------------------------------------------

    def submit_job(self, tenant: str, body: m.JobSubmit) -> m.Job:
        """Submits a training job (editor); omitted fields get the server's defaults."""
        return m.Job.from_json(self._call("submitJob", (tenant,), body=body))

    def list_jobs(self, tenant: str, *, limit: int | None = None, after: str | None = None) -> Pager[m.Job]:
        """A tenant's jobs in submission order."""
        return self._pager("listJobs", m.Job, (tenant,), limit=limit, after=after)

    def get_job(self, tenant: str, name: str) -> m.Job:
        """Reads a job with its state and replicas."""
        return m.Job.from_json(self._call("getJob", (tenant, name)))

    def cancel_job(self, tenant: str, name: str) -> m.Job:
        """Cancels a job (editor): its pods stop, its logs so far are kept."""
        return m.Job.from_json(self._call("cancelJob", (tenant, name)))

    def job_logs(self, tenant: str, name: str, *, replica: int = 0, follow: bool = False,
                 read_timeout: float | None = None) -> LogStream:
        """A replica's log as a stream of lines; with ``follow``, it goes on while the replica runs.

        Connecting and the answer's start are bounded by the client's timeout.
        ``read_timeout`` bounds each wait for more of the log after that:
        None is the client's timeout, or no bound when following (a job may
        be quiet for long); ``math.inf`` is no bound.
        """
        conn, resp = self._open("jobLogs", (tenant, name), {"replica": replica, "follow": follow or None},
                                accept="text/plain, application/problem+json")
        rt: float | None
        if read_timeout is None:
            rt = None if follow else self.timeout
        else:
            rt = None if math.isinf(read_timeout) else read_timeout
        if conn.sock is not None:
            conn.sock.settimeout(rt)
        return LogStream(conn, resp)

    def wait_job(self, tenant: str, name: str, timeout: float = 3600.0, *, interval: float = 2.0) -> m.Job:
        """Polls a job until it is done (succeeded, failed or cancelled) and returns it.

        Raises TimeoutError when it is not done after ``timeout`` seconds.
        Connection failures and 502/503/504 answers while waiting are retried.
        """
        return _poll(m.Job, lambda: self.get_job(tenant, name), lambda j: j.done, lambda j: j.state,
                     timeout=timeout, interval=interval,
                     timed_out=lambda state: f"job {tenant}/{name} is still {state} after {timeout:g}s")

    # --- notebooks -----------------------------------------------------------------

    def create_notebook(self, tenant: str, body: m.NotebookCreate) -> m.Notebook:
        """Creates a notebook (editor)."""
        return m.Notebook.from_json(self._call("createNotebook", (tenant,), body=body))

    def list_notebooks(self, tenant: str, *, limit: int | None = None, after: str | None = None) -> Pager[m.Notebook]:
        """A tenant's notebooks."""
        return self._pager("listNotebooks", m.Notebook, (tenant,), limit=limit, after=after)

    def get_notebook(self, tenant: str, name: str) -> m.Notebook:
        """Reads a notebook."""
        return m.Notebook.from_json(self._call("getNotebook", (tenant, name)))

    def stop_notebook(self, tenant: str, name: str) -> m.Notebook:
        """Stops a notebook, keeping its workspace."""
        return m.Notebook.from_json(self._call("stopNotebook", (tenant, name)))

    def start_notebook(self, tenant: str, name: str) -> m.Notebook:
        """Starts a stopped notebook."""
        return m.Notebook.from_json(self._call("startNotebook", (tenant, name)))

    def delete_notebook(self, tenant: str, name: str) -> None:
        """Deletes a notebook and its workspace."""
        self._call("deleteNotebook", (tenant, name))

    def create_notebook_session(self, tenant: str, name: str) -> m.NotebookHandover:
        """Trades the caller's token for a one-time browser code for one notebook (editor).

        Open ``client.server + handover.url`` in a browser within a minute
        (``expires_at``); the code is bound to the caller's token, so
        revoking the token ends the browser's session.
        """
        return m.NotebookHandover.from_json(self._call("createNotebookSession", (tenant, name)))

    def create_ui_session(self) -> m.UIHandover:
        """Trades the caller's token for a one-time dashboard login code.

        Open ``client.server + handover.url`` in a browser within a minute
        (``expires_at``); the dashboard trades it for a short-lived session cookie.
        """
        return m.UIHandover.from_json(self._call("createUISession", ()))

    # --- experiment tracking and the model registry ------------------------------------
    # Written by MLflow clients at <server>/mlflow/<tenant> (MLFLOW_TRACKING_URI); read here.

    def list_experiments(self, tenant: str, *, limit: int | None = None, after: str | None = None) -> Pager[m.Experiment]:
        """A tenant's active experiments, newest first."""
        return self._pager("listExperiments", m.Experiment, (tenant,), limit=limit, after=after)

    def list_runs(self, tenant: str, *, experiment: str | None = None, limit: int | None = None,
                  after: str | None = None) -> Pager[m.Run]:
        """An experiment's active runs, newest first; ``experiment`` is its id (default "0", the Default)."""
        return self._pager("listRuns", m.Run, (tenant,), query={"experiment": experiment}, limit=limit, after=after)

    def get_run(self, tenant: str, run: str) -> m.Run:
        """Reads a run with its params, tags and the latest point of each metric."""
        return m.Run.from_json(self._call("getRun", (tenant, run)))

    def list_models(self, tenant: str, *, limit: int | None = None, after: str | None = None) -> Pager[m.RegisteredModel]:
        """A tenant's registered models by name."""
        return self._pager("listModels", m.RegisteredModel, (tenant,), limit=limit, after=after)

    def get_model(self, tenant: str, model: str) -> m.RegisteredModel:
        """Reads a registered model with its aliases and latest version."""
        return m.RegisteredModel.from_json(self._call("getModel", (tenant, model)))

    def list_model_versions(self, tenant: str, model: str, *, limit: int | None = None,
                            after: str | None = None) -> Pager[m.ModelVersion]:
        """A registered model's versions, newest first."""
        return self._pager("listModelVersions", m.ModelVersion, (tenant, model), limit=limit, after=after)

    def get_model_version(self, tenant: str, model: str, version: int) -> m.ModelVersion:
        """Reads one version of a model (its number: 1, 2, ...), with the job or pipeline step that made it."""
        return m.ModelVersion.from_json(self._call("getModelVersion", (tenant, model, str(version))))

    def register_model_version(self, tenant: str, model: str, body: m.ModelVersionCreate) -> m.ModelVersion:
        """Registers a run's model directory as a new version (editor); the model is made when missing."""
        return m.ModelVersion.from_json(self._call("registerModelVersion", (tenant, model), body=body))

    def set_model_alias(self, tenant: str, model: str, alias: str, body: m.ModelAliasPut) -> m.ModelVersion:
        """Points an alias (e.g. champion) at a version (editor); models:/NAME@ALIAS then resolves to it."""
        return m.ModelVersion.from_json(self._call("setModelAlias", (tenant, model, alias), body=body))

    def delete_model_alias(self, tenant: str, model: str, alias: str) -> None:
        """Removes an alias (editor)."""
        self._call("deleteModelAlias", (tenant, model, alias))

    def metric_history(self, tenant: str, run: str, key: str, *, limit: int | None = None,
                       after: str | None = None) -> Pager[m.MetricValue]:
        """A run's series of one metric, in step order."""
        return self._pager("getMetricHistory", m.MetricValue, (tenant, run, key), limit=limit, after=after)

    def list_run_artifacts(self, tenant: str, run: str, *, path: str | None = None) -> Pager[m.Artifact]:
        """One directory of a run's artifact tree (the root by default)."""
        return self._pager("listRunArtifacts", m.Artifact, (tenant, run), query={"path": path})

    # --- lineage -------------------------------------------------------------------

    def artifact_lineage(self, tenant: str, digest: str, *, limit: int | None = None) -> m.ArtifactLineage:
        """The runs that produced and consumed an artifact and the model versions that hold it.

        ``digest`` is ``sha256:<hex>`` or the 64 hex characters (what
        :func:`ferry.log_artifact` returns); ``limit`` bounds the runs listed
        each way (server default 200, at most 1000; ``truncated`` says some
        were left off).
        """
        return m.ArtifactLineage.from_json(self._call("getArtifactLineage", (tenant, digest), {"limit": limit}))

    def model_version_lineage(self, tenant: str, model: str, version: int, *, depth: int | None = None,
                              steps: int | None = None) -> m.ModelVersionLineage:
        """What made a model version: its run, job or pipeline step, and the steps upstream of it.

        ``depth`` bounds how far upstream the walk goes from the step that
        made the version (server default 20, at most 100), ``steps`` how many
        steps it lists (default 200, at most 1000); ``truncated`` says it
        stopped at one of them.
        """
        return m.ModelVersionLineage.from_json(self._call("getModelVersionLineage", (tenant, model, str(version)),
                                                          {"depth": depth, "steps": steps}))
