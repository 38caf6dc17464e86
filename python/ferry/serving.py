"""Model serving in the SDK: deployments, revisions, API keys, and the client's methods.

    client.create_deployment("team-a", ferry.DeploymentCreate(name="iris", model="iris@champion", min=0))
    client.update_deployment("team-a", "iris", ferry.DeploymentUpdate(model="iris/2", canary_weight=20))
    key = client.create_deployment_key("team-a", "iris", ferry.APIKeyCreate(name="ci")).secret  # shown once
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from .models import Model, Resources, register
from .pages import page_path
from .transport import LogStream, Pager, Transport, _poll


__all__ = [
    "APIKey", "APIKeyCreate", "Deployment", "DeploymentCreate", "DeploymentEvent", "DeploymentSpec", "DeploymentUpdate",
    "GatewayReport", "Revision", "RevisionReport", "RevisionStats", "RolloutPolicy", "Route", "RouteRevision",
    "RoutingTable", "ServingMixin", "SERVING_OPERATIONS",
]


@dataclass
class RolloutPolicy(Model):
    """The RolloutPolicy of model serving (see api/v1/serving.go)."""

    schema = "RolloutPolicy"
    bake_seconds: int | None = None
    max_error_rate_delta: float | None = None
    max_p99_ratio: float | None = None
    min_requests: int | None = None
    step_weight: int | None = None


@dataclass
class DeploymentCreate(Model):
    """The DeploymentCreate of model serving (see api/v1/serving.go)."""

    schema = "DeploymentCreate"
    model: str
    name: str
    concurrency: int | None = None
    idle_seconds: int | None = None
    image: str | None = None
    max: int | None = None
    min: int | None = None
    port: int | None = None
    resources: Resources | None = None
    rollout: RolloutPolicy | None = None
    runtime: str | None = None
    startup_cpu: str | None = None


@dataclass
class DeploymentUpdate(Model):
    """The DeploymentUpdate of model serving (see api/v1/serving.go)."""

    schema = "DeploymentUpdate"
    canary_weight: int | None = None
    concurrency: int | None = None
    idle_seconds: int | None = None
    max: int | None = None
    min: int | None = None
    model: str | None = None
    rollout: RolloutPolicy | None = None
    startup_cpu: str | None = None


@dataclass
class DeploymentSpec(Model):
    """The DeploymentSpec of model serving (see api/v1/serving.go)."""

    schema = "DeploymentSpec"
    concurrency: int
    idle_seconds: int
    max: int
    min: int
    model: str
    port: int
    resources: Resources
    rollout: RolloutPolicy
    runtime: str
    image: str | None = None
    startup_cpu: str | None = None


@dataclass
class RevisionStats(Model):
    """The RevisionStats of model serving (see api/v1/serving.go)."""

    schema = "RevisionStats"
    error_rate: float
    errors: int
    in_flight: int
    p50_ms: float
    p99_ms: float
    requests: int
    rps: float


@dataclass
class Revision(Model):
    """The Revision of model serving (see api/v1/serving.go)."""

    schema = "Revision"
    created_at: _dt.datetime
    model: str
    name: str
    number: int
    ready_replicas: int
    replicas: int
    role: str
    stats: RevisionStats
    version: int
    weight: int
    digest: str | None = None
    #: why it is not ready, in plain words; empty when ready or scaled to zero
    reason: str | None = None


@dataclass
class DeploymentEvent(Model):
    """The DeploymentEvent of model serving (see api/v1/serving.go)."""

    schema = "DeploymentEvent"
    at: _dt.datetime
    kind: str
    message: str


@dataclass
class Deployment(Model):
    """The Deployment of model serving (see api/v1/serving.go)."""

    schema = "Deployment"
    created_at: _dt.datetime
    created_by: str
    events: list[DeploymentEvent]
    name: str
    revisions: list[Revision]
    spec: DeploymentSpec
    tenant: str
    updated_at: _dt.datetime
    url: str

    @property
    def page(self) -> str:
        """This deployment's dashboard page, relative to the server (``client.server + x.page``)."""
        return page_path("deployment", self.tenant, self.name)

    @property
    def not_ready(self) -> list[str]:
        """Why it cannot serve yet, one line per revision that takes traffic and is short of replicas
        (empty: :attr:`ready`).

        A revision with weight is ready when its ready replicas reach those it asks for, and at
        least one when the deployment keeps a minimum; scaled to zero (``min`` 0), no replica is
        needed: the gateway holds the first request while one starts.
        """
        out = []
        for r in self.revisions:
            if r.role == "retired" or r.weight <= 0:
                continue
            want = max(r.replicas, 1 if (self.spec.min or 0) > 0 else 0)
            if r.ready_replicas < want:
                out.append(f"{r.name} ({r.role}): {r.ready_replicas}/{want} ready" + (f": {r.reason}" if r.reason else ""))
        if not any(r.role != "retired" and r.weight > 0 for r in self.revisions):
            out.append("no revision takes traffic")
        return out

    @property
    def ready(self) -> bool:
        """Whether every revision that takes traffic has its replicas ready (see :attr:`not_ready`)."""
        return not self.not_ready


@dataclass
class APIKeyCreate(Model):
    """The APIKeyCreate of model serving (see api/v1/serving.go)."""

    schema = "APIKeyCreate"
    name: str | None = None


@dataclass
class APIKey(Model):
    """The APIKey of model serving (see api/v1/serving.go)."""

    schema = "APIKey"
    created_at: _dt.datetime
    created_by: str
    id: str
    name: str | None = None
    secret: str | None = None


@dataclass
class RouteRevision(Model):
    """The RouteRevision of model serving (see api/v1/serving.go)."""

    schema = "RouteRevision"
    concurrency: int
    max: int
    min: int
    name: str
    ready: int
    replicas: int
    url: str
    weight: int
    endpoints: list[str] | None = None
    probe_path: str | None = None
    starting: list[str] | None = None


@dataclass
class Route(Model):
    """The Route of model serving (see api/v1/serving.go)."""

    schema = "Route"
    deployment: str
    key_hashes: list[str]
    revisions: list[RouteRevision]
    tenant: str


@dataclass
class RoutingTable(Model):
    """The RoutingTable of model serving (see api/v1/serving.go)."""

    schema = "RoutingTable"
    routes: list[Route]
    version: str


@dataclass
class RevisionReport(Model):
    """The RevisionReport of model serving (see api/v1/serving.go)."""

    schema = "RevisionReport"
    deployment: str
    errors: int
    in_flight: int
    p50_ms: float
    p99_ms: float
    requests: int
    revision: str
    tenant: str
    waiting: int


@dataclass
class GatewayReport(Model):
    """The GatewayReport of model serving (see api/v1/serving.go)."""

    schema = "GatewayReport"
    gateway: str
    period_ms: int
    revisions: list[RevisionReport]

register(RolloutPolicy, DeploymentCreate, DeploymentUpdate, DeploymentSpec, RevisionStats, Revision,
                                      DeploymentEvent, Deployment, APIKeyCreate, APIKey, RouteRevision, Route, RoutingTable,
                                      RevisionReport, GatewayReport)

_D = "/api/v1/tenants/{tenant}/deployments"
SERVING_OPERATIONS: dict[str, tuple[str, str, str]] = {
    "createDeployment": ("POST", _D, "create_deployment"),
    "listDeployments": ("GET", _D, "list_deployments"),
    "getDeployment": ("GET", _D + "/{name}", "get_deployment"),
    "updateDeployment": ("PATCH", _D + "/{name}", "update_deployment"),
    "deleteDeployment": ("DELETE", _D + "/{name}", "delete_deployment"),
    "promoteDeployment": ("POST", _D + "/{name}/promote", "promote_deployment"),
    "rollbackDeployment": ("POST", _D + "/{name}/rollback", "rollback_deployment"),
    "createDeploymentKey": ("POST", _D + "/{name}/keys", "create_deployment_key"),
    "listDeploymentKeys": ("GET", _D + "/{name}/keys", "list_deployment_keys"),
    "deleteDeploymentKey": ("DELETE", _D + "/{name}/keys/{id}", "delete_deployment_key"),
    "getRevisionArtifact": ("GET", _D + "/{name}/revisions/{revision}/artifact", "get_revision_artifact"),
    "servingRoutes": ("GET", "/api/v1/serving/routes", "serving_routes"),
    "servingReport": ("POST", "/api/v1/serving/report", "serving_report"),
}


class ServingMixin(Transport):
    """The serving methods of :class:`ferry.Client`."""

    def create_deployment(self, tenant: str, body: DeploymentCreate) -> Deployment:
        """Serves a registered model version (NAME/VERSION or NAME@ALIAS) (editor)."""
        return Deployment.from_json(self._call("createDeployment", (tenant,), body=body))

    def list_deployments(self, tenant: str, *, limit: int | None = None, after: str | None = None) -> Pager[Deployment]:
        """A tenant's deployments."""
        return self._pager("listDeployments", Deployment, (tenant,), limit=limit, after=after)

    def get_deployment(self, tenant: str, name: str) -> Deployment:
        """A deployment with its revisions, weights, replicas, rates, latencies and decisions."""
        return Deployment.from_json(self._call("getDeployment", (tenant, name)))

    def update_deployment(self, tenant: str, name: str, body: DeploymentUpdate) -> Deployment:
        """Changes a deployment; a new model version becomes the canary (editor)."""
        return Deployment.from_json(self._call("updateDeployment", (tenant, name), body=body))

    def delete_deployment(self, tenant: str, name: str) -> None:
        """Deletes a deployment with its revisions and keys (editor)."""
        self._call("deleteDeployment", (tenant, name))

    def wait_deployment(self, tenant: str, name: str, timeout: float = 600.0, *, interval: float = 2.0) -> Deployment:
        """Polls a deployment until it is :attr:`Deployment.ready` and returns it.

        Raises TimeoutError after ``timeout`` seconds, naming the revisions
        short of replicas and why (the server's ``reason``: an image that
        cannot be pulled, a crash loop...). Connection failures and
        502/503/504 answers while waiting are retried.
        """
        return _poll(Deployment, lambda: self.get_deployment(tenant, name), lambda d: d.ready,
                     lambda d: "; ".join(d.not_ready), timeout=timeout, interval=interval,
                     timed_out=lambda why: f"deployment {tenant}/{name} is not ready after {timeout:g}s: {why}")

    def promote_deployment(self, tenant: str, name: str) -> Deployment:
        """Makes the canary stable at 100% (editor)."""
        return Deployment.from_json(self._call("promoteDeployment", (tenant, name)))

    def rollback_deployment(self, tenant: str, name: str) -> Deployment:
        """Rolls the canary back, or goes back to the previous stable revision (editor)."""
        return Deployment.from_json(self._call("rollbackDeployment", (tenant, name)))

    def create_deployment_key(self, tenant: str, name: str, body: APIKeyCreate) -> APIKey:
        """Makes an API key for this deployment only; its secret is in this answer only (editor)."""
        return APIKey.from_json(self._call("createDeploymentKey", (tenant, name), body=body))

    def list_deployment_keys(self, tenant: str, name: str) -> Pager[APIKey]:
        """A deployment's keys, without secrets."""
        return self._pager("listDeploymentKeys", APIKey, (tenant, name))

    def delete_deployment_key(self, tenant: str, name: str, id: str) -> None:
        """Revokes a deployment's key (editor)."""
        self._call("deleteDeploymentKey", (tenant, name, id))

    def get_revision_artifact(self, tenant: str, name: str, revision: int, *, x_ferry_key: str | None = None) -> bytes:
        """A revision's model file (for its own pods, with the deployment's key)."""
        conn, resp = self._open("getRevisionArtifact", (tenant, name, str(revision)), None,
                                accept="application/octet-stream, application/problem+json",
                                headers={"X-Ferry-Key": x_ferry_key} if x_ferry_key else None)
        try:
            return resp.read()
        finally:
            conn.close()

    def serving_routes(self) -> RoutingTable:
        """The gateway's routing table (admin or the gateway)."""
        return RoutingTable.from_json(self._call("servingRoutes"))

    def serving_report(self, body: GatewayReport) -> None:
        """Reports a gateway's measurements (admin or the gateway)."""
        self._call("servingReport", body=body)
