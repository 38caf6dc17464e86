"""Wire types of ferry's API, one dataclass per schema of api/v1/openapi.json.

Field names are the schema's property names in snake_case (``displayName``
is ``display_name``). Answers (``Tenant``, ``Job``...) are decoded with
:meth:`Model.from_json`, which ignores properties this SDK does not know yet;
requests (``TenantCreate``, ``JobSubmit``...) are encoded with
:meth:`Model.to_json`, which leaves out every field left at ``None``, so the
server fills in its defaults for what the caller did not give.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import keyword
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from .pages import page_path

__all__ = [
    "ArtifactLineage", "AuditEntry", "AuditVerify", "Experiment", "Job", "JobSpec", "JobSubmit",
    "JOB_DONE_STATES", "LineageRun", "LineageStep", "Member", "MemberPut", "MetricValue", "Model",
    "ModelVersion", "ModelVersionLineage", "ModelVersionRef", "Notebook", "NotebookCreate", "NotebookHandover",
    "Page", "Quota", "QuotaChange", "RegisteredModel", "Replica", "Resources", "Run", "SeedImage",
    "SeedNodeStatus", "SeedReport", "Tenant", "TenantCreate", "TenantUpdate", "Token", "TokenCreate",
    "TokenCreated", "User", "UserCreate", "UserCreated", "Whoami",
]

T = TypeVar("T")
M = TypeVar("M", bound="Model")

#: job states after which nothing changes any more
JOB_DONE_STATES = frozenset({"succeeded", "failed", "cancelled"})


def json_name(python_name: str) -> str:
    """The schema property of a field: ``display_name`` -> ``displayName``."""
    head, *rest = python_name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def python_name(json_name: str) -> str:
    """The field of a schema property: ``displayName`` -> ``display_name``; a Python keyword gets a
    trailing underscore (``finally`` -> ``finally_``), which :func:`json_name` drops."""
    name = re.sub(r"(?<!^)([A-Z])", r"_\1", json_name).lower()
    return name + "_" if keyword.iskeyword(name) else name


class Model:
    """Base of the wire types: JSON in and out."""

    #: the name of the schema in the OpenAPI document
    schema: ClassVar[str] = ""

    @classmethod
    def from_json(cls: type[M], data: Any) -> M:
        """Decodes an answer; unknown properties are ignored, absent ones are None (or empty lists)."""
        if not isinstance(data, dict):
            raise TypeError(f"{cls.__name__}: expected a JSON object, got {type(data).__name__}")
        hints = _hints(cls)
        kwargs = {}
        for f in dataclasses.fields(typing.cast(Any, cls)):
            v = data.get(json_name(f.name))
            kwargs[f.name] = _decode(hints[f.name], v)
        return cls(**kwargs)

    def to_json(self) -> dict[str, Any]:
        """Encodes a request: only the fields that are not None."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(typing.cast(Any, self)):
            v = getattr(self, f.name)
            if v is not None:
                out[json_name(f.name)] = _encode(v)
        return out


_hint_cache: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    h = _hint_cache.get(cls)
    if h is None:
        h = _hint_cache[cls] = typing.get_type_hints(cls)
    return h


def _decode(tp: Any, v: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if v is None:
            return [] if args and typing.get_origin(args[0]) is list else None
        return _decode(args[0], v)
    if origin is list:
        (item,) = typing.get_args(tp)
        return [_decode(item, x) for x in (v or [])]
    if origin is dict:
        return dict(v or {})
    if v is None:
        return [] if tp is list else None
    if isinstance(tp, type) and issubclass(tp, Model):
        return tp.from_json(v)
    if tp is _dt.datetime:
        return _dt.datetime.fromisoformat(v) if isinstance(v, str) else v
    return v


def _encode(v: Any) -> Any:
    if isinstance(v, Model):
        return v.to_json()
    if isinstance(v, _dt.datetime):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return [_encode(x) for x in v]
    if isinstance(v, dict):
        return {k: _encode(x) for k, x in v.items()}
    return v


@dataclass
class Page(Generic[T]):
    """One page of a list (schemas List*): its items and the cursor of the next page (None on the last)."""

    items: list[T]
    next: str | None = None


# --- tenants, members, users, tokens ---------------------------------------


@dataclass
class Quota(Model):
    """A tenant's limits: cpu and memory as Kubernetes quantities, gpu a count."""

    schema = "Quota"
    cpu: str
    memory: str
    gpu: int


@dataclass
class QuotaChange(Model):
    """The quota fields to set; the others stay as they are."""

    schema = "QuotaChange"
    cpu: str | None = None
    memory: str | None = None
    gpu: int | None = None


@dataclass
class Tenant(Model):
    """A tenant: a namespace (ferry-<name>) with a quota and members."""

    schema = "Tenant"
    name: str
    display_name: str
    quota: Quota
    notebook_idle_seconds: int
    generation: int
    created_at: _dt.datetime
    updated_at: _dt.datetime


@dataclass
class TenantCreate(Model):
    """The body of createTenant (admins): a DNS-1123 name, optionally a display name, owner and quota."""

    schema = "TenantCreate"
    name: str
    display_name: str | None = None
    owner: str | None = None
    quota: QuotaChange | None = None


@dataclass
class TenantUpdate(Model):
    """The body of updateTenant: the fields given change, the others stay."""

    schema = "TenantUpdate"
    display_name: str | None = None
    notebook_idle_seconds: int | None = None
    #: admins only
    quota: QuotaChange | None = None


@dataclass
class Member(Model):
    """A user's role (owner, editor, viewer) in a tenant."""

    schema = "Member"
    tenant: str
    user: str
    role: str


@dataclass
class MemberPut(Model):
    """The body of putMember."""

    schema = "MemberPut"
    role: str


@dataclass
class User(Model):
    """A user of the platform."""

    schema = "User"
    id: int
    name: str
    admin: bool
    created_at: _dt.datetime
    #: a disabled user's tokens are refused until an admin enables it again
    disabled: bool | None = None


@dataclass
class UserCreate(Model):
    """The body of createUser (admins)."""

    schema = "UserCreate"
    name: str
    admin: bool | None = None


@dataclass
class UserCreated(Model):
    """A new user and its first token (shown once)."""

    schema = "UserCreated"
    user: User
    token: str


@dataclass
class Whoami(Model):
    """The caller and its memberships."""

    schema = "Whoami"
    id: int
    name: str
    admin: bool
    created_at: _dt.datetime
    memberships: list[Member]
    disabled: bool | None = None


@dataclass
class Token(Model):
    """An API token of the caller (without its secret)."""

    schema = "Token"
    id: str
    name: str
    created_at: _dt.datetime
    expires_at: _dt.datetime | None = None


@dataclass
class TokenCreate(Model):
    """The body of createToken; expires_in is a Go duration such as ``720h``."""

    schema = "TokenCreate"
    name: str
    expires_in: str | None = None


@dataclass
class TokenCreated(Model):
    """A new token with its secret, shown once."""

    schema = "TokenCreated"
    secret: str
    id: str
    name: str
    created_at: _dt.datetime
    expires_at: _dt.datetime | None = None


# --- audit -------------------------------------------------------------------


@dataclass
class AuditEntry(Model):
    """One row of the hash-chained audit log."""

    schema = "AuditEntry"
    id: int
    time: _dt.datetime
    actor: str
    action: str
    result: str
    prev_hash: str
    hash: str
    tenant: str | None = None
    target: str | None = None
    detail: str | None = None


@dataclass
class AuditVerify(Model):
    """The result of checking the audit chain; broken_at is the first bad row."""

    schema = "AuditVerify"
    ok: bool
    broken_at: int | None = None
    #: what is missing or altered, against the chain and the latest checkpoint
    problems: list[str] | None = None


# --- jobs ----------------------------------------------------------------------


@dataclass
class Resources(Model):
    """What each replica (or a notebook) gets; omitted fields get the server's defaults."""

    schema = "Resources"
    cpu: str | None = None
    memory: str | None = None
    gpu: int | None = None


@dataclass
class JobSubmit(Model):
    """The body of submitJob. Omitted fields get the server's defaults (replicas 1, cpu 1, memory 1Gi)."""

    schema = "JobSubmit"
    name: str
    image: str
    command: list[str]
    args: list[str] | None = None
    env: dict[str, str] | None = None
    replicas: int | None = None
    resources: Resources | None = None
    max_retries: int | None = None
    experiment: str | None = None


@dataclass
class JobSpec(Model):
    """A job as it runs, defaults filled in."""

    schema = "JobSpec"
    image: str
    command: list[str]
    replicas: int
    resources: Resources
    max_retries: int
    args: list[str] | None = None
    env: dict[str, str] | None = None
    experiment: str | None = None


@dataclass
class Replica(Model):
    """One replica's state as Kubernetes reports it."""

    schema = "Replica"
    index: int
    phase: str
    restarts: int
    pod: str | None = None
    node: str | None = None
    exit_code: int | None = None
    log_saved: bool | None = None


@dataclass
class JobRun(Model):
    """The MLflow run a job is tracked as."""

    schema = "JobRun"
    experiment_id: str
    run_id: str


@dataclass
class Job(Model):
    """A training job: queued, running, succeeded, failed or cancelled."""

    schema = "Job"
    tenant: str
    name: str
    spec: JobSpec
    state: str
    replicas: list[Replica]
    created_by: str
    created_at: _dt.datetime
    updated_at: _dt.datetime
    reason: str | None = None
    admitted_at: _dt.datetime | None = None
    started_at: _dt.datetime | None = None
    finished_at: _dt.datetime | None = None
    run: JobRun | None = None

    @property
    def done(self) -> bool:
        """Whether the state is final (succeeded, failed or cancelled)."""
        return self.state in JOB_DONE_STATES

    @property
    def page(self) -> str:
        """This job's dashboard page, relative to the server (``client.server + x.page``)."""
        return page_path("job", self.tenant, self.name)


# --- notebooks -----------------------------------------------------------------


@dataclass
class NotebookCreate(Model):
    """The body of createNotebook; workspace is the volume size (default 1Gi)."""

    schema = "NotebookCreate"
    name: str
    image: str
    resources: Resources | None = None
    workspace: str | None = None


@dataclass
class Notebook(Model):
    """A Jupyter notebook server with its workspace volume."""

    schema = "Notebook"
    tenant: str
    name: str
    image: str
    resources: Resources
    workspace: str
    state: str
    last_activity: _dt.datetime
    created_by: str
    created_at: _dt.datetime
    updated_at: _dt.datetime
    url: str
    reason: str | None = None

    @property
    def page(self) -> str:
        """This notebook's dashboard page, relative to the server (``client.server + x.page``)."""
        return page_path("notebook", self.tenant, self.name)


@dataclass
class NotebookHandover(Model):
    """A one-time code (fnh_...) that a browser redeems, within a minute, for a session of one notebook.

    ``url`` is the path, relative to the server, that redeems it: the URL
    carries only the code, never the API token.
    """

    schema = "NotebookHandover"
    tenant: str
    name: str
    code: str
    expires_at: _dt.datetime
    url: str


@dataclass
class UIHandover(Model):
    """A one-time code (fuh_...) that a browser redeems, within a minute, for a dashboard session.

    ``url`` is the path, relative to the server, that redeems it.
    """

    schema = "UIHandover"
    code: str
    expires_at: _dt.datetime
    url: str


# --- experiment tracking and the model registry (written through /mlflow/<tenant>/) ---


@dataclass
class Experiment(Model):
    """A tenant's group of runs; id is MLflow's experiment_id (0 is the tenant's Default)."""

    schema = "Experiment"
    id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    created_at: _dt.datetime
    updated_at: _dt.datetime
    tags: dict[str, str] | None = None


@dataclass
class MetricValue(Model):
    """The latest point of a metric; value is a float, or the string NaN, Infinity or -Infinity."""

    schema = "MetricValue"
    key: str
    value: float | str
    step: int
    #: milliseconds since the epoch
    timestamp: int


@dataclass
class Run(Model):
    """A tracked execution with its params, tags and the latest point of each metric."""

    schema = "Run"
    id: str
    experiment_id: str
    name: str
    user: str
    status: str
    lifecycle_stage: str
    start_time: _dt.datetime
    artifact_uri: str
    end_time: _dt.datetime | None = None
    parent_run_id: str | None = None
    params: dict[str, str] | None = None
    tags: dict[str, str] | None = None
    metrics: list[MetricValue] | None = None

    def metric(self, key: str) -> MetricValue | None:
        """The latest point of the metric ``key``, or None when the run has none."""
        return next((x for x in self.metrics or [] if x.key == key), None)


@dataclass
class RegisteredModel(Model):
    """A named model of a tenant's registry; aliases map an alias to a version (champion -> 3)."""

    schema = "RegisteredModel"
    name: str
    created_at: _dt.datetime
    updated_at: _dt.datetime
    description: str | None = None
    tags: dict[str, str] | None = None
    aliases: dict[str, int] | None = None
    latest_version: int | None = None
    created_by: str | None = None


@dataclass
class ModelVersion(Model):
    """One numbered version of a registered model, with its lineage (run_id)."""

    schema = "ModelVersion"
    model: str
    version: int
    source: str
    status: str
    created_at: _dt.datetime
    updated_at: _dt.datetime
    run_id: str | None = None
    job: str | None = None
    #: the pipeline run (its tracking run id) and step whose run the version was registered from
    pipeline_run: str | None = None
    step: str | None = None
    description: str | None = None
    aliases: list[str] | None = None
    tags: dict[str, str] | None = None
    created_by: str | None = None


@dataclass
class Artifact(Model):
    """One entry of a run's artifact tree; digest is a file's sha256 (hex)."""

    schema = "Artifact"
    path: str
    is_dir: bool | None = None
    size: int | None = None
    digest: str | None = None


@dataclass
class ModelVersionCreate(Model):
    """The body of registerModelVersion: a run's model directory (default "model")."""

    schema = "ModelVersionCreate"
    run_id: str
    path: str | None = None
    description: str | None = None


@dataclass
class ModelAliasPut(Model):
    """The body of setModelAlias."""

    schema = "ModelAliasPut"
    version: int


# --- lineage ---------------------------------------------------------------------


@dataclass
class LineageRun(Model):
    """A tracking run in lineage and what it is the run of: a pipeline step
    (``pipeline_run`` and ``step``, ``step[i]`` for an item of a fan-out), a
    training job (``job``), or neither; ``path`` is where the artifact is in
    the run's tree (artifact lineage)."""

    schema = "LineageRun"
    run_id: str
    path: str | None = None
    pipeline_run: str | None = None
    pipeline: str | None = None
    step: str | None = None
    job: str | None = None


@dataclass
class ModelVersionRef(Model):
    """Names a model version (and the run it was registered from)."""

    schema = "ModelVersionRef"
    model: str
    version: int
    run_id: str | None = None


@dataclass
class ArtifactLineage(Model):
    """The runs that produced an artifact (uploaded it to their tree) and
    consumed it (a step whose input it was), and the model versions whose
    files hold it. A cached step is listed neither way; ``truncated`` says
    some runs were left off (more than the limit)."""

    schema = "ArtifactLineage"
    digest: str
    size: int
    produced_by: list[LineageRun]
    consumed_by: list[LineageRun]
    models: list[ModelVersionRef] | None = None
    truncated: bool | None = None


@dataclass
class LineageStep(Model):
    """A pipeline step in a model version's lineage, ``depth`` steps from the
    one that made the version (0). ``key`` is ``pipelineRun/step``, what
    ``upstream`` names; ``inputs`` and ``outputs`` map names to
    ``sha256:<hex>``; ``run_id`` is None when the step was cached, and
    ``cached_from`` is then the pipeline run whose outputs it got."""

    schema = "LineageStep"
    key: str
    pipeline_run: str
    pipeline: str
    step: str
    state: str
    depth: int
    run_id: str | None = None
    cached_from: str | None = None
    inputs: dict[str, str] | None = None
    outputs: dict[str, str] | None = None
    upstream: list[str] | None = None


@dataclass
class ModelVersionLineage(Model):
    """What made a model version (``made_by``: its run, with its step or job)
    and the pipeline steps upstream of it, nearest first; ``steps`` is empty
    when the run is no pipeline step's. ``artifacts`` are those steps' input
    digests, each once; ``truncated`` says the walk stopped at its bounds."""

    schema = "ModelVersionLineage"
    model: str
    version: int
    source: str
    made_by: LineageRun
    steps: list[LineageStep]
    artifacts: list[str]
    truncated: bool | None = None


# --- seed (node agents; no Client methods) ---------------------------------------


@dataclass
class SeedImage(Model):
    """An image of the seed bundle that node agents import."""

    schema = "SeedImage"
    ref: str
    digest: str
    config: str
    size: int


@dataclass
class SeedNodeStatus(Model):
    """A node's last seed report."""

    schema = "SeedNodeStatus"
    node: str
    generation: str
    current: bool
    reported: _dt.datetime


@dataclass
class SeedReport(Model):
    """The body of reportSeedStatus."""

    schema = "SeedReport"
    node: str
    generation: str


#: every wire type by schema name (each module of wire types adds its own with :func:`register`)
SCHEMAS: dict[str, type[Model]] = {}


def register(*classes: type[Model]) -> None:
    """Adds wire types to :data:`SCHEMAS` under their schema names."""
    for c in classes:
        SCHEMAS[c.schema] = c


register(Quota, QuotaChange, Tenant, TenantCreate, TenantUpdate, Member, MemberPut, User, UserCreate,
        UserCreated, Whoami, Token, TokenCreate, TokenCreated, AuditEntry, AuditVerify, Resources,
        JobSubmit, JobSpec, Replica, JobRun, Job, NotebookCreate, Notebook, NotebookHandover, UIHandover, Experiment,
        MetricValue,
        Run, RegisteredModel, ModelVersion, Artifact, ModelVersionCreate, ModelAliasPut, LineageRun, ModelVersionRef,
        ArtifactLineage, LineageStep, ModelVersionLineage, SeedImage, SeedNodeStatus, SeedReport)

