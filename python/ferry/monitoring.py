"""Monitoring in the SDK: live use (``ferry top``), one workload's use, a tenant's quota use, and reads of its data.

    for w in client.top(tenant="team-a").items:
        print(w.kind, w.name, w.current and w.current.cpu_millicores)
    u = client.get_workload_usage("team-a", "job", "train", window="1h")
    q = client.get_tenant_quota("team-a")
    print(q.free.gpu, q.queued.jobs)
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from .models import Model, Quota, register
from .transport import Pager, Transport

__all__ = ["Access", "QueuedWork", "QuotaUse", "ResourceAmount", "ResourceUse", "Top", "UsagePoint", "WorkloadUsage",
           "MonitoringMixin", "MONITORING_OPERATIONS"]


@dataclass
class ResourceAmount(Model):
    """Requested or allowed resources: CPU in millicores, memory in bytes, GPUs as a count."""

    schema = "ResourceAmount"
    cpu_millicores: int
    memory_bytes: int
    gpu: int


@dataclass
class ResourceUse(Model):
    """Measured use: CPU in millicores, memory working set in bytes, accelerators' duty cycle summed in percent."""

    schema = "ResourceUse"
    cpu_millicores: int
    memory_bytes: int
    gpu_percent: int


@dataclass
class UsagePoint(Model):
    """One sample or bucket of a series: means and peaks over ``samples`` samples from ``time`` on."""

    schema = "UsagePoint"
    time: _dt.datetime
    samples: int
    mean: ResourceUse
    peak: ResourceUse


@dataclass
class WorkloadUsage(Model):
    """What one ferry object's pods (job, notebook, step, revision) use, summed, against what they request."""

    schema = "WorkloadUsage"
    tenant: str
    kind: str
    name: str
    pods: int
    request: ResourceAmount
    samples: int
    first_seen: _dt.datetime
    last_seen: _dt.datetime
    current: ResourceUse | None = None
    average: ResourceUse | None = None
    peak: ResourceUse | None = None
    series: list[UsagePoint] | None = None


@dataclass
class Top(Model):
    """The live use of every object the caller may see, heaviest CPU first; ``stale`` when no sampler runs."""

    schema = "Top"
    interval_seconds: int
    stale: bool
    items: list[WorkloadUsage]
    sampled_at: _dt.datetime | None = None


@dataclass
class QueuedWork(Model):
    """Queued jobs and what all their replicas would request."""

    schema = "QueuedWork"
    jobs: int
    replicas: int
    request: ResourceAmount


@dataclass
class QuotaUse(Model):
    """A tenant's quota against what its pods hold (requested), measure (used) and what waits (queued)."""

    schema = "QuotaUse"
    tenant: str
    quota: Quota
    limit: ResourceAmount
    requested: ResourceAmount
    free: ResourceAmount
    used: ResourceUse
    queued: QueuedWork
    stale: bool
    sampled_at: _dt.datetime | None = None


@dataclass
class Access(Model):
    """One read of a tenant's data: an artifact, a model file or a log, by whom."""

    schema = "Access"
    id: int
    time: _dt.datetime
    tenant: str
    actor: str
    kind: str
    object: str


register(ResourceAmount, ResourceUse, UsagePoint, WorkloadUsage, Top, QueuedWork, QuotaUse, Access)

_T = "/api/v1/tenants/{tenant}"
MONITORING_OPERATIONS: dict[str, tuple[str, str, str]] = {
    "top": ("GET", "/api/v1/usage", "top"),
    "getWorkloadUsage": ("GET", _T + "/usage/{kind}/{name}", "get_workload_usage"),
    "getTenantQuota": ("GET", _T + "/quota", "get_tenant_quota"),
    "listTenantReads": ("GET", _T + "/reads", "list_tenant_reads"),
}


class MonitoringMixin(Transport):
    """The monitoring methods of :class:`ferry.Client`."""

    def top(self, *, tenant: str | None = None, limit: int | None = None) -> Top:
        """The live use of every object the caller may see (of one tenant with ``tenant``), heaviest CPU first."""
        return Top.from_json(self._call("top", query={"tenant": tenant, "limit": limit}))

    def get_workload_usage(self, tenant: str, kind: str, name: str, *, window: str | None = None) -> WorkloadUsage:
        """One object's use (kind job, notebook, step or revision); ``window`` (1h, 1d, 7d) adds its series."""
        return WorkloadUsage.from_json(self._call("getWorkloadUsage", (tenant, kind, name), {"window": window}))

    def get_tenant_quota(self, tenant: str) -> QuotaUse:
        """A tenant's quota, what its pods request and use, and what is queued."""
        return QuotaUse.from_json(self._call("getTenantQuota", (tenant,)))

    def list_tenant_reads(self, tenant: str, *, actor: str | None = None, kind: str | None = None,
                          limit: int | None = None, after: str | None = None) -> Pager[Access]:
        """Who read the tenant's data (artifacts, model files, logs), newest first."""
        return self._pager("listTenantReads", Access, (tenant,), query={"actor": actor, "kind": kind}, limit=limit, after=after)
