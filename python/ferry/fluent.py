"""Tracking from a laptop or a notebook: ``ferry.start_run``, as MLflow's fluent API.

    import ferry
    with ferry.start_run(experiment="digits", run_name="svc", tags={"team": "a"}) as run:
        run.log_param("C", 1.0)
        for epoch in range(10):
            run.log_metric("accuracy", acc, step=epoch)
        ferry.log_metric("loss", 0.1)          # the module's functions log to the active run
        run.log_artifact("model.joblib", "model/model.joblib")
        run.register_model("digits")          # a new version from the run's model/ directory
        with ferry.start_run(run_name="fold-1"):
            ...                                # a child run (mlflow.parentRunId)

A run is created at once, in the tenant's MLflow API (``<server>/mlflow/<tenant>``)
with the client's credentials: ``ferry.default_client()`` (``FERRY_SERVER`` /
``FERRY_TOKEN``, else the CLI's context) unless ``client=`` names another. It
ends FINISHED when the block ends, FAILED when it raises, KILLED on
KeyboardInterrupt; without ``with``, ``run.end()`` or :func:`end_run` ends it,
and a run still open when the interpreter exits is ended FINISHED (FAILED when
an uncaught exception ended the script).

Runs nest per thread: a run started while another is active (in this thread)
is its child, in the same tenant and, unless another is named, the same
experiment. The module's ``ferry.log_*`` functions write to the innermost
active run, else to the pod's own run (``MLFLOW_RUN_ID``).

Inside a training job's or a pipeline step's pod, as in MLflow, a
``start_run()`` that is not nested and names no ``run_id`` resumes the pod's
own run (``MLFLOW_RUN_ID``, with the pod's ``MLFLOW_TRACKING_URI`` and
``MLFLOW_TRACKING_TOKEN``) instead of creating one: the pod's token may write
only to that run. ``run_id=`` resumes any run the same way. One difference
from MLflow, by choice: the pod's run ends when its job (every replica) or
step ends, and ferry's controller writes its end state then (FINISHED,
FAILED, KILLED); so ending the pod's run FINISHED (the block ends, ``end()``,
:func:`end_run`, the interpreter exits) only makes it inactive here and
leaves it RUNNING, where MLflow would mark it FINISHED at once, before the
other replicas or the rest of the script are done. Ending it FAILED or
KILLED (the block raised, or ``end("FAILED")``) is written, as in MLflow: the
controller keeps a script's own end state unless the job fails or is
cancelled. A nested run in such a pod is a new run, which the pod's token
may not create: start_run says so (HTTP 403) unless ``client=`` carries a
token that may.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
import urllib.parse
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .config import ConfigError
from .errors import FerryError
from .tracking import ActiveRun, NotInARun

if TYPE_CHECKING:
    from . import models as m
    from .client import Client

__all__ = ["END_STATES", "StartedRun", "current_run", "end_run", "start_run"]

#: the states a run ends in (MLflow's RunStatus)
END_STATES = ("FINISHED", "FAILED", "KILLED")

#: MLflow's tag naming a run's parent (store.TagParentRunID)
TAG_PARENT = "mlflow.parentRunId"

#: where a run's MLflow API lives under a ferry server: <server>/mlflow/<tenant>
MLFLOW_PREFIX = "/mlflow/"

_local = threading.local()
_open_lock = threading.Lock()
_open: dict[int, StartedRun] = {}  # every run not yet ended, of any thread (ended at exit)
_atexit_registered = False


def _stack() -> list[StartedRun]:
    s: list[StartedRun] | None = getattr(_local, "stack", None)
    if s is None:
        s = _local.stack = []
    return s


class StartedRun:
    """A run that :func:`start_run` created and that logs with the client's credentials.

    Use it as a context manager, or call :meth:`end`. ``run_id``,
    ``experiment_id``, ``tenant``, ``name`` and ``parent_run_id`` say which
    run it is; ``status`` is None while it runs, then its end state;
    ``run`` is the :class:`ferry.ActiveRun` the logging goes through.
    ``pod_run`` is True for the pod's own run (``MLFLOW_RUN_ID``), whose
    FINISHED ferry's controller writes when the job or step ends (see
    :mod:`ferry.fluent`).
    """

    def __init__(self, client: Client, tenant: str, run: ActiveRun, name: str, parent_run_id: str | None,
                 *, pod_run: bool = False) -> None:
        self.client = client
        self.tenant = tenant
        self.run = run
        self.name = name
        self.parent_run_id = parent_run_id
        self.pod_run = pod_run
        self.status: str | None = None
        self._lock = threading.Lock()

    @property
    def run_id(self) -> str:
        """The run's id (MLflow's run_id)."""
        return self.run.run_id

    @property
    def page_url(self) -> str:
        """The run's dashboard page on the client's server."""
        return self.client.page_url("run", self.tenant, self.run.run_id)

    @property
    def experiment_id(self) -> str:
        """The id of the run's experiment."""
        return self.run.experiment_id

    def __repr__(self) -> str:
        return f"<ferry.StartedRun {self.tenant}/{self.run_id} {self.name!r} {self.status or 'RUNNING'}>"

    # --- logging ---------------------------------------------------------------------------

    def log_param(self, key: str, value: Any) -> None:
        """Logs one parameter (set once: a different value later is an error, as in MLflow)."""
        self.run.log_params({key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Logs parameters."""
        self.run.log_params(dict(params))

    def log_metric(self, key: str, value: float, step: int = 0, timestamp_ms: int | None = None) -> None:
        """Logs one point of a metric at step (NaN and infinities included)."""
        self.run.log_metrics({key: value}, step=step, timestamp_ms=timestamp_ms)

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0, timestamp_ms: int | None = None) -> None:
        """Logs one point of each metric at step."""
        self.run.log_metrics(dict(metrics), step=step, timestamp_ms=timestamp_ms)

    def set_tag(self, key: str, value: Any) -> None:
        """Sets one tag on the run."""
        self.run.set_tags({key: str(value)})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Sets tags on the run."""
        self.run.set_tags({k: str(v) for k, v in tags.items()})

    def log_artifact(self, local_path: str, artifact_path: str | None = None) -> str:
        """Uploads a file into the run's artifacts (at artifact_path, default its base name); returns its sha256."""
        return self.run.log_artifact(local_path, artifact_path)

    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> dict[str, str]:
        """Uploads every file under local_dir (below artifact_path, default the root); returns {path: sha256}."""
        if not os.path.isdir(local_dir):
            raise NotADirectoryError(f"{local_dir!r} is not a directory")
        prefix = (artifact_path or "").strip("/")
        out: dict[str, str] = {}
        for root, dirs, files in os.walk(local_dir):
            dirs.sort()
            for f in sorted(files):
                full = os.path.join(root, f)
                rel = os.path.relpath(full, local_dir).replace(os.sep, "/")
                dest = f"{prefix}/{rel}" if prefix else rel
                out[dest] = self.run.log_artifact(full, dest)
        return out

    def register_model(self, name: str, artifact_dir: str = "model") -> int:
        """Registers the run's artifact_dir as a new version of model name (made when missing); returns the version."""
        return self.run.register_model(name, artifact_dir)

    def info(self) -> m.Run:
        """The run as ferry's API reads it (status, params, tags, latest metrics)."""
        return self.client.get_run(self.tenant, self.run_id)

    # --- ending ----------------------------------------------------------------------------

    def end(self, status: str = "FINISHED") -> None:
        """Ends the run (FINISHED, FAILED or KILLED) and makes it inactive; ending it again does nothing.

        The pod's own run (``pod_run``) ended FINISHED is only made inactive:
        ferry's controller marks it FINISHED when the job or step ends.
        """
        self._end(status, retries=4)

    def _end(self, status: str, retries: int) -> None:
        if status not in END_STATES:
            raise ValueError(f"status {status!r}: must be one of {', '.join(END_STATES)}")
        with self._lock:
            if self.status is not None:
                return
            if not (self.pod_run and status == "FINISHED"):
                self.run._send("POST", "/api/2.0/mlflow/runs/update", retries=retries,
                               body={"run_id": self.run_id, "status": status, "end_time": int(time.time() * 1000)})
            self.status = status
        with _open_lock:
            _open.pop(id(self), None)
        s = _stack()
        if self in s:
            s.remove(self)

    def __enter__(self) -> StartedRun:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.end("FINISHED")
            return
        status = "KILLED" if issubclass(exc_type, KeyboardInterrupt) else "FAILED"
        try:
            self.end(status)
        except (FerryError, OSError) as e:  # the block's own exception is the one to see
            if exc is not None:
                exc.add_note(f"ferry: run {self.run_id} could not be marked {status}: {e}")


def current_run() -> StartedRun | None:
    """The innermost run started (and not ended) in this thread, or None."""
    s = _stack()
    return s[-1] if s else None


def start_run(
    experiment: str | None = None,
    *,
    run_name: str | None = None,
    tags: Mapping[str, Any] | None = None,
    experiment_id: str | None = None,
    run_id: str | None = None,
    parent_run_id: str | None = None,
    tenant: str | None = None,
    client: Client | None = None,
) -> StartedRun:
    """Creates a RUNNING run, or resumes one, and makes it this thread's active run; use it with ``with``.

    ``experiment`` is an experiment's name (made when missing), or give its
    ``experiment_id``; neither: the parent's experiment for a nested run,
    else the tenant's Default (0). ``tenant`` defaults to the parent's, then
    the client's (``FERRY_TENANT``), then the caller's only tenant.
    ``parent_run_id`` makes it a child of that run; a run started while
    another is active is that run's child.

    ``run_id`` resumes that run (RUNNING again, ``tags`` set on it) instead;
    so does a start_run without it, not nested, in a pod whose environment
    names its run (``MLFLOW_RUN_ID``): a job's or a step's pod resumes its
    own run, as MLflow does (see :mod:`ferry.fluent` for how it ends). An
    ``experiment`` or ``experiment_id`` given then must be the run's;
    ``run_name`` names only a new run.
    """
    if experiment is not None and experiment_id is not None:
        raise ValueError("give experiment (a name) or experiment_id, not both")
    if experiment is not None and not experiment.strip():
        raise ValueError("experiment: the name is empty")
    if run_id is not None and parent_run_id is not None:
        raise ValueError("give run_id (a run to resume) or parent_run_id (the parent of a new run), not both")
    if run_id is not None and not run_id.strip():
        raise ValueError("run_id: the id is empty")
    parent = current_run()
    if parent is None and parent_run_id is None:
        pod = _pod_run(client, tenant, run_id)
        if pod is not None:
            conn, pod_tenant = pod
            return _resume(client or _pod_client(conn, pod_tenant), pod_tenant, conn, experiment, experiment_id, tags,
                           pod_run=True)
    if client is None:
        client = parent.client if parent is not None else _default_client()
    if parent is not None and tenant is not None and tenant != parent.tenant:
        raise ValueError(f"tenant {tenant!r}: a nested run is in its parent's tenant {parent.tenant!r}; end the parent first")
    tenant = tenant or (parent.tenant if parent is not None else None) or client.tenant or _only_tenant(client)
    conn = ActiveRun(f"{client.server}{MLFLOW_PREFIX}{urllib.parse.quote(tenant, safe='')}", run_id or "", "",
                     client._token or None, ssl_context=client._ssl)
    if run_id is not None:
        # The pod's own run named while another is active is still the controller's to end.
        own = run_id == os.environ.get("MLFLOW_RUN_ID") and conn.tracking_uri == os.environ.get("MLFLOW_TRACKING_URI", "").rstrip("/")
        return _resume(client, tenant, conn, experiment, experiment_id, tags, pod_run=own)
    try:
        return _create(client, tenant, conn, parent, experiment, experiment_id, run_name, tags, parent_run_id)
    except FerryError as e:
        if e.status == 403 and _is_pod_token(conn.token):
            raise _pod_may_not_create(e, parent) from e
        raise


def _create(client: Client, tenant: str, conn: ActiveRun, parent: StartedRun | None, experiment: str | None,
            experiment_id: str | None, run_name: str | None, tags: Mapping[str, Any] | None,
            parent_run_id: str | None) -> StartedRun:
    """Creates a run (start_run's arguments resolved) and makes it active."""
    if experiment is not None:
        exp = _experiment_by_name(conn, experiment)
    elif experiment_id is not None:
        exp = experiment_id
    elif parent is not None:
        exp = parent.experiment_id
    else:
        exp = "0"
    parent_id = parent_run_id or (parent.run_id if parent is not None else None)
    all_tags: dict[str, str] = {"mlflow.source.type": "NOTEBOOK" if "ipykernel" in sys.modules else "LOCAL"}
    if sys.argv and sys.argv[0]:
        all_tags["mlflow.source.name"] = sys.argv[0]
    all_tags.update({k: str(v) for k, v in (tags or {}).items()})
    if parent_id:
        all_tags[TAG_PARENT] = parent_id
    body: dict[str, Any] = {"experiment_id": exp, "start_time": int(time.time() * 1000),
                            "tags": [{"key": k, "value": v} for k, v in all_tags.items()]}
    if run_name:
        body["run_name"] = run_name
    info = conn._call("runs/create", body)["run"]["info"]
    started = StartedRun(client, tenant, ActiveRun(conn.tracking_uri, info["run_id"], str(info["experiment_id"]),
                                                   conn.token, ssl_context=conn.ssl_context),
                         str(info.get("run_name") or ""), parent_id)
    _stack().append(started)
    _remember(started)
    return started


def _resume(client: Client, tenant: str, conn: ActiveRun, experiment: str | None, experiment_id: str | None,
            tags: Mapping[str, Any] | None, *, pod_run: bool) -> StartedRun:
    """Resumes conn's run (MLflow's start_run(run_id=...)): RUNNING again, tags set, made active."""
    q = urllib.parse.urlencode({"run_id": conn.run_id})
    got = conn._send("GET", "/api/2.0/mlflow/runs/get?" + q)["run"]
    info = got["info"]
    if info.get("lifecycle_stage") == "deleted":
        raise FerryError(status=400, title="INVALID_PARAMETER_VALUE",
                         detail=f"run {conn.run_id} is deleted: restore it before resuming it")
    exp = str(info["experiment_id"])
    if experiment_id is not None and experiment_id != exp:
        raise ValueError(f"experiment_id {experiment_id!r}: run {conn.run_id} is in experiment {exp}")
    if experiment is not None:
        q = urllib.parse.urlencode({"experiment_id": exp})
        name = str(conn._send("GET", "/api/2.0/mlflow/experiments/get?" + q)["experiment"]["name"])
        if name != experiment:
            raise ValueError(f"experiment {experiment!r}: run {conn.run_id} is in experiment {name!r} ({exp})")
    run = ActiveRun(conn.tracking_uri, conn.run_id, exp, conn.token, ssl_context=conn.ssl_context)
    if info.get("status") != "RUNNING":
        run._call("runs/update", {"run_id": run.run_id, "status": "RUNNING"})
    if tags:
        run.set_tags({k: str(v) for k, v in tags.items()})
    run_tags = {t["key"]: t["value"] for t in (got.get("data") or {}).get("tags") or []}
    started = StartedRun(client, tenant, run, str(info.get("run_name") or ""), run_tags.get(TAG_PARENT) or None,
                         pod_run=pod_run)
    _stack().append(started)
    _remember(started)
    return started


def _pod_run(client: Client | None, tenant: str | None, run_id: str | None) -> tuple[ActiveRun, str] | None:
    """The pod's own run (MLFLOW_*) to resume, with its tenant; None when the environment names none, or
    another run, tenant or server is asked for."""
    try:
        env = ActiveRun.from_env()
    except NotInARun:
        return None
    if run_id is not None and run_id != env.run_id:
        return None
    base, sep, quoted = env.tracking_uri.rpartition(MLFLOW_PREFIX)
    pod_tenant = urllib.parse.unquote(quoted) if sep and quoted and "/" not in quoted else os.environ.get("FERRY_TENANT", "")
    if tenant is not None and tenant != pod_tenant:
        return None
    if client is None:
        return env, pod_tenant
    if f"{client.server}{MLFLOW_PREFIX}{urllib.parse.quote(pod_tenant, safe='')}" != env.tracking_uri:
        return None  # the client's server is not the one the pod's run lives on
    return ActiveRun(env.tracking_uri, env.run_id, env.experiment_id, client._token or None, ssl_context=client._ssl), pod_tenant


def _pod_client(conn: ActiveRun, tenant: str) -> Client:
    """The client of a resumed pod's run: the default one, else one made from the pod's MLflow environment."""
    try:
        return _default_client()
    except ConfigError:
        from .client import Client

        base = conn.tracking_uri.rpartition(MLFLOW_PREFIX)[0] or conn.tracking_uri
        return Client(base, conn.token or "", tenant=tenant or None)


def _is_pod_token(token: str | None) -> bool:
    """Whether token is the pod's run-scoped one (MLFLOW_TRACKING_TOKEN of a pod whose MLFLOW_RUN_ID names its run)."""
    return bool(token) and bool(os.environ.get("MLFLOW_RUN_ID")) and token == os.environ.get("MLFLOW_TRACKING_TOKEN")


def _pod_may_not_create(e: FerryError, parent: StartedRun | None) -> FerryError:
    """start_run's error when the pod's run token was refused a new run (or experiment)."""
    pod_run = os.environ.get("MLFLOW_RUN_ID", "")
    what = f"a nested run (a child of run {parent.run_id})" if parent is not None else "a new run"
    return FerryError(
        status=e.status, title=e.title or "PERMISSION_DENIED",
        detail=(f"start_run: cannot create {what}: this pod's token (MLFLOW_TRACKING_TOKEN) may write only to "
                f"the pod's own run {pod_run} (MLFLOW_RUN_ID), not create runs or experiments; log to that run "
                f"(ferry.start_run() without nesting, or ferry.log_metric), or pass client= a ferry.Client whose "
                f"token may create runs. The server said: {e.detail or e.title}"))


def end_run(status: str = "FINISHED") -> None:
    """Ends this thread's innermost started run (nothing when there is none)."""
    run = current_run()
    if run is not None:
        run.end(status)


def _default_client() -> Client:
    from . import default_client  # the package's one optional client

    return default_client()


def _only_tenant(client: Client) -> str:
    tenants = sorted({mb.tenant for mb in client.whoami().memberships})
    if len(tenants) == 1:
        return tenants[0]
    which = f"one of {', '.join(tenants)}" if tenants else "a tenant"
    raise ValueError(f"no tenant: pass start_run(tenant=...) ({which}), Client(tenant=...), or set FERRY_TENANT")


def _experiment_by_name(conn: ActiveRun, name: str) -> str:
    """The id of the experiment called name, made when missing (a concurrent maker wins)."""
    path = "/api/2.0/mlflow/experiments/get-by-name?" + urllib.parse.urlencode({"experiment_name": name})
    for _ in range(2):
        try:
            return str(conn._send("GET", path)["experiment"]["experiment_id"])
        except FerryError as e:
            if e.status != 404:
                raise
        try:
            return str(conn._call("experiments/create", {"name": name})["experiment_id"])
        except FerryError as e:
            if e.title != "RESOURCE_ALREADY_EXISTS":
                raise
    raise FerryError(status=0, title=f"experiment {name!r} is neither found nor made")


def _remember(run: StartedRun) -> None:
    global _atexit_registered
    with _open_lock:
        _open[id(run)] = run
        if not _atexit_registered:
            atexit.register(_end_open_runs)
            _atexit_registered = True


def _end_open_runs() -> None:
    """At exit: ends the runs left open, FAILED after an uncaught exception in a script, else FINISHED."""
    crashed = getattr(sys, "last_value", None) is not None and "IPython" not in sys.modules
    with _open_lock:
        runs = list(_open.values())
    for run in reversed(runs):
        try:
            run._end("FAILED" if crashed else "FINISHED", retries=1)
        except (FerryError, OSError):
            pass
