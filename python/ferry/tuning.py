"""Hyperparameter tuning in the SDK: the wire types of tunings and trials, and the client's methods.

    spec = ferry.TuningSpec(
        api_version="ferry.dev/v1", kind="Tuning", name="svc-c",
        objective=ferry.TuningObjective(metric="accuracy", direction="maximize"),
        parameters=[ferry.TuningParam(name="C", type="float", min=0.01, max=10, log=True)],
        trial=ferry.TrialTemplate(image="ferry.local/workload:1", command=["python3", "train.py", "--C=${params.C}"]),
        max_trials=20, parallel_trials=2)
    t = client.tunings.create(spec)          # or client.create_tuning(tenant, ferry.TuningCreate(spec=spec))
    t = client.tunings.wait(t.name, timeout=3600)
    print(t.best.params, t.best.value)
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .models import Model, Resources, register
from .pages import page_path
from .transport import Pager, Transport, _poll

if TYPE_CHECKING:
    from .client import Client

__all__ = [
    "TUNING_DONE_STATES", "EarlyStopping", "Trial", "TrialCounts", "TrialTemplate", "Tuning", "TuningCreate", "TuningObjective",
    "TuningParam", "TuningSpec", "TuningMixin", "TuningsAPI", "TUNING_OPERATIONS",
]

#: tuning states after which nothing changes any more
TUNING_DONE_STATES = frozenset({"succeeded", "failed", "stopped"})


@dataclass
class TuningObjective(Model):
    """The metric the search optimizes (the last value a trial's run logged), its direction, and an optional goal."""

    schema = "TuningObjective"
    metric: str
    direction: str
    goal: float | None = None


@dataclass
class TuningParam(Model):
    """One dimension of the search space: int or float in [min, max] (log scale optional), or categorical values."""

    schema = "TuningParam"
    name: str
    type: str
    min: float | None = None
    max: float | None = None
    log: bool | None = None
    step: float | None = None
    grid_points: int | None = None
    values: list[str] | None = None


@dataclass
class EarlyStopping(Model):
    """The median stopping rule: trials behind the median of completed ones at the same step are pruned."""

    schema = "EarlyStopping"
    type: str
    startup_trials: int | None = None
    warmup_steps: int | None = None
    min_trials: int | None = None


@dataclass
class TrialTemplate(Model):
    """The training job each trial runs; ``${params.NAME}`` in command, args and env is the trial's value."""

    schema = "TrialTemplate"
    image: str
    command: list[str]
    args: list[str] | None = None
    env: dict[str, str] | None = None
    replicas: int | None = None
    resources: Resources | None = None
    max_retries: int | None = None


@dataclass
class TuningSpec(Model):
    """A tuning's definition (apiVersion ferry.dev/v1, kind Tuning)."""

    schema = "TuningSpec"
    api_version: str
    kind: str
    name: str
    objective: TuningObjective
    parameters: list[TuningParam]
    trial: TrialTemplate
    algorithm: str | None = None
    max_trials: int | None = None
    parallel_trials: int | None = None
    max_failed_trials: int | None = None
    early_stopping: EarlyStopping | None = None
    seed: int | None = None
    experiment: str | None = None


@dataclass
class TuningCreate(Model):
    """The body of createTuning: the spec as an object or as YAML text."""

    schema = "TuningCreate"
    spec: TuningSpec | None = None
    yaml: str | None = None


@dataclass
class TrialCounts(Model):
    """A tuning's trials by state."""

    schema = "TrialCounts"
    total: int
    running: int
    succeeded: int
    failed: int
    pruned: int
    cancelled: int


@dataclass
class Trial(Model):
    """One suggestion and the job that tried it; value is the objective's last logged value."""

    schema = "Trial"
    number: int
    params: dict[str, str]
    state: str
    job: str
    created_at: _dt.datetime
    reason: str | None = None
    run_id: str | None = None
    value: float | None = None
    step: int | None = None
    finished_at: _dt.datetime | None = None


@dataclass
class Tuning(Model):
    """A tuning with its progress and best trial so far."""

    schema = "Tuning"
    tenant: str
    name: str
    spec: TuningSpec
    state: str
    experiment_id: str
    run_id: str
    trials: TrialCounts
    created_by: str
    created_at: _dt.datetime
    updated_at: _dt.datetime
    reason: str | None = None
    best: Trial | None = None
    finished_at: _dt.datetime | None = None

    @property
    def done(self) -> bool:
        """Whether the state is final (succeeded, failed or stopped)."""
        return self.state in TUNING_DONE_STATES

    @property
    def page(self) -> str:
        """This tuning's dashboard page, relative to the server (``client.server + x.page``)."""
        return page_path("tuning", self.tenant, self.name)


register(TuningObjective, TuningParam, EarlyStopping, TrialTemplate, TuningSpec, TuningCreate, TrialCounts, Trial, Tuning)

_T = "/api/v1/tenants/{tenant}/tunings"
TUNING_OPERATIONS: dict[str, tuple[str, str, str]] = {
    "createTuning": ("POST", _T, "create_tuning"),
    "listTunings": ("GET", _T, "list_tunings"),
    "getTuning": ("GET", _T + "/{tuning}", "get_tuning"),
    "getTuningBest": ("GET", _T + "/{tuning}/best", "get_tuning_best"),
    "stopTuning": ("POST", _T + "/{tuning}/stop", "stop_tuning"),
    "listTuningTrials": ("GET", _T + "/{tuning}/trials", "list_tuning_trials"),
}


class TuningMixin(Transport):
    """The tuning methods of :class:`ferry.Client`."""

    def create_tuning(self, tenant: str, body: TuningCreate) -> Tuning:
        """Starts a tuning (editor); its trials are jobs <name>-t<N>."""
        return Tuning.from_json(self._call("createTuning", (tenant,), body=body))

    def list_tunings(self, tenant: str, *, limit: int | None = None, after: str | None = None) -> Pager[Tuning]:
        """A tenant's tunings."""
        return self._pager("listTunings", Tuning, (tenant,), limit=limit, after=after)

    def get_tuning(self, tenant: str, tuning: str) -> Tuning:
        """A tuning with its trial counts and best trial."""
        return Tuning.from_json(self._call("getTuning", (tenant, tuning)))

    def get_tuning_best(self, tenant: str, tuning: str) -> Trial:
        """The best trial so far (404 while none has a value)."""
        return Trial.from_json(self._call("getTuningBest", (tenant, tuning)))

    def stop_tuning(self, tenant: str, tuning: str) -> Tuning:
        """Stops a tuning: no new trials, the running ones are cancelled (editor)."""
        return Tuning.from_json(self._call("stopTuning", (tenant, tuning)))

    def list_tuning_trials(self, tenant: str, tuning: str, *, limit: int | None = None,
                           after: str | None = None) -> Pager[Trial]:
        """A tuning's trials in the order suggested."""
        return self._pager("listTuningTrials", Trial, (tenant, tuning), limit=limit, after=after)

    def wait_tuning(self, tenant: str, tuning: str, timeout: float = 3600.0, *, interval: float = 5.0) -> Tuning:
        """Polls a tuning until it is done and returns it; TimeoutError after ``timeout`` seconds."""
        return _poll(Tuning, lambda: self.get_tuning(tenant, tuning), lambda t: t.done, lambda t: t.state,
                     timeout=timeout, interval=interval,
                     timed_out=lambda _: f"tuning {tenant}/{tuning} is not done after {timeout:g}s")


class TuningsAPI:
    """The tunings of a :class:`ferry.Client` by verb (``client.tunings``); ``tenant=`` defaults to the client's."""

    def __init__(self, client: Client) -> None:
        self._c = client

    def create(self, spec: TuningSpec | str, *, tenant: str | None = None) -> Tuning:
        """Starts a tuning from a :class:`TuningSpec` or its YAML text."""
        body = TuningCreate(spec=spec) if isinstance(spec, TuningSpec) else TuningCreate(yaml=spec)
        return self._c.create_tuning(self._c._tenant(tenant), body)

    def get(self, name: str, *, tenant: str | None = None) -> Tuning:
        """A tuning with its progress."""
        return self._c.get_tuning(self._c._tenant(tenant), name)

    def list(self, *, tenant: str | None = None) -> Pager[Tuning]:
        """The tenant's tunings."""
        return self._c.list_tunings(self._c._tenant(tenant))

    def trials(self, name: str, *, tenant: str | None = None) -> Pager[Trial]:
        """A tuning's trials."""
        return self._c.list_tuning_trials(self._c._tenant(tenant), name)

    def best(self, name: str, *, tenant: str | None = None) -> Trial:
        """The best trial so far."""
        return self._c.get_tuning_best(self._c._tenant(tenant), name)

    def stop(self, name: str, *, tenant: str | None = None) -> Tuning:
        """Stops a tuning."""
        return self._c.stop_tuning(self._c._tenant(tenant), name)

    def wait(self, name: str, timeout: float = 3600.0, *, interval: float = 5.0, tenant: str | None = None) -> Tuning:
        """Polls until the tuning is done."""
        return self._c.wait_tuning(self._c._tenant(tenant), name, timeout, interval=interval)
