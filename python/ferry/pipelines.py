"""Pipelines in the SDK: the wire types of pipelines and their runs, and the client's methods.

    client.create_pipeline("team-a", ferry.PipelineCreate(name="train", yaml=open("pipeline.yaml").read()))
    run = client.submit_pipeline_run("team-a", "train", ferry.PipelineRunSubmit(parameters={"lr": "0.1"}))
    run = client.wait_pipeline_run("team-a", run.id, timeout=600)
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any

from .models import Model, Resources, register
from .pages import page_path
from .transport import LogStream, Pager, Transport, _poll


__all__ = [
    "PIPELINE_DONE_STATES", "Backoff", "ParallelFor", "Pipeline", "PipelineCreate", "PipelineParam", "PipelineRun",
    "PipelineRunSubmit", "PipelineSpec", "PipelineVersion", "RetryPolicy", "Step", "StepInputs", "StepOutputs", "StepRun",
    "Schedule", "ScheduleCreate", "PipelinesMixin", "PIPELINE_OPERATIONS",
]

#: run states after which nothing changes any more
PIPELINE_DONE_STATES = frozenset({"succeeded", "failed", "cancelled"})


@dataclass
class Backoff(Model):
    """The wait before a retry: initial x factor^attempt, at most max."""

    schema = "Backoff"
    factor: float | None = None
    initial: str | None = None
    max: str | None = None


@dataclass
class RetryPolicy(Model):
    """How often and on which failures (error, oom, timeout, evicted) a failed step is tried again."""

    schema = "RetryPolicy"
    limit: int
    backoff: Backoff | None = None
    on_failures: list[str] | None = None


@dataclass
class ParallelFor(Model):
    """Fans a step out over a list parameter or an upstream output list, at most parallelism at once."""

    schema = "ParallelFor"
    items: str
    parallelism: int | None = None


@dataclass
class StepInputs(Model):
    """A step's inputs: parameter values or references, and artifacts (references to upstream outputs)."""

    schema = "StepInputs"
    artifacts: dict[str, str] | None = None
    parameters: dict[str, str] | None = None


@dataclass
class StepOutputs(Model):
    """A step's outputs: artifacts (files), parameters and metrics, written under /ferry/outputs."""

    schema = "StepOutputs"
    artifacts: list[str] | None = None
    metrics: list[str] | None = None
    parameters: list[str] | None = None


@dataclass
class Step(Model):
    """One container of a pipeline's DAG."""

    schema = "Step"
    command: list[str]
    image: str
    name: str
    args: list[str] | None = None
    cache: bool | None = None
    cache_max_age: str | None = None
    depends_on: list[str] | None = None
    env: dict[str, str] | None = None
    inputs: StepInputs | None = None
    outputs: StepOutputs | None = None
    parallel_for: ParallelFor | None = None
    resources: Resources | None = None
    retries: RetryPolicy | None = None
    timeout: str | None = None
    when: str | None = None


@dataclass
class PipelineParam(Model):
    """A parameter of a pipeline, given at submit; one without a default is required."""

    schema = "PipelineParam"
    name: str
    default: Any | None = None
    description: str | None = None
    type: str | None = None


@dataclass
class PipelineSpec(Model):
    """A pipeline's definition (apiVersion ferry.dev/v1, kind Pipeline)."""

    schema = "PipelineSpec"
    api_version: str
    kind: str
    steps: list[Step]
    description: str | None = None
    #: exit steps (``finally`` in the spec; a Python keyword)
    finally_: list[Step] | None = None
    parameters: list[PipelineParam] | None = None


@dataclass
class PipelineCreate(Model):
    """The body of createPipeline: the spec as an object or as YAML text."""

    schema = "PipelineCreate"
    name: str
    spec: PipelineSpec | None = None
    yaml: str | None = None


@dataclass
class Pipeline(Model):
    """A named pipeline of a tenant."""

    schema = "Pipeline"
    created_at: _dt.datetime
    created_by: str
    latest_version: int
    name: str
    tenant: str
    updated_at: _dt.datetime
    description: str | None = None


@dataclass
class PipelineVersion(Model):
    """One numbered, immutable spec of a pipeline."""

    schema = "PipelineVersion"
    created_at: _dt.datetime
    created_by: str
    digest: str
    pipeline: str
    spec: PipelineSpec
    version: int


@dataclass
class PipelineRunSubmit(Model):
    """The body of submitPipelineRun: a version (default the latest) and parameter values as text."""

    schema = "PipelineRunSubmit"
    parameters: dict[str, str] | None = None
    version: int | None = None


@dataclass
class StepRun(Model):
    """One step (or fan-out item) of a run: state, attempts, cache hit and outputs."""

    schema = "StepRun"
    attempt: int
    name: str
    state: str
    step: str
    cache_key: str | None = None
    cached_from: str | None = None
    depends_on: list[str] | None = None
    finished_at: _dt.datetime | None = None
    item: int | None = None
    outputs: dict[str, str] | None = None
    pod: str | None = None
    reason: str | None = None
    run_id: str | None = None
    started_at: _dt.datetime | None = None


@dataclass
class PipelineRun(Model):
    """One execution of a pipeline version; its id is its tracking run's."""

    schema = "PipelineRun"
    created_at: _dt.datetime
    created_by: str
    id: str
    parameters: dict[str, str]
    pipeline: str
    state: str
    tenant: str
    version: int
    finished_at: _dt.datetime | None = None
    reason: str | None = None
    schedule: str | None = None
    started_at: _dt.datetime | None = None
    steps: list[StepRun] | None = None

    @property
    def page(self) -> str:
        """This pipeline run's dashboard page, relative to the server (``client.server + x.page``)."""
        return page_path("pipeline_run", self.tenant, self.id)


@dataclass
class ScheduleCreate(Model):
    """The body of createSchedule: a pipeline, a cron in a time zone, a concurrency policy and parameters."""

    schema = "ScheduleCreate"
    name: str
    pipeline: str
    cron: str
    version: int | None = None
    timezone: str | None = None
    policy: str | None = None
    parameters: dict[str, str] | None = None


@dataclass
class Schedule(Model):
    """Runs of a pipeline on a cron; missed ticks start one run, not one each."""

    schema = "Schedule"
    tenant: str
    name: str
    pipeline: str
    cron: str
    timezone: str
    policy: str
    paused: bool
    next_at: _dt.datetime
    created_by: str
    created_at: _dt.datetime
    version: int | None = None
    parameters: dict[str, str] | None = None
    last_at: _dt.datetime | None = None
    last_run: str | None = None


register(ScheduleCreate, Schedule, Backoff, RetryPolicy, ParallelFor, StepInputs, StepOutputs, Step, PipelineParam,
                                      PipelineSpec, PipelineCreate, Pipeline, PipelineVersion, PipelineRunSubmit,
                                      StepRun, PipelineRun)

_T = "/api/v1/tenants/{tenant}"
PIPELINE_OPERATIONS: dict[str, tuple[str, str, str]] = {
    "createPipeline": ("POST", _T + "/pipelines", "create_pipeline"),
    "listPipelines": ("GET", _T + "/pipelines", "list_pipelines"),
    "getPipeline": ("GET", _T + "/pipelines/{pipeline}", "get_pipeline"),
    "listPipelineVersions": ("GET", _T + "/pipelines/{pipeline}/versions", "list_pipeline_versions"),
    "submitPipelineRun": ("POST", _T + "/pipelines/{pipeline}/runs", "submit_pipeline_run"),
    "listPipelineRuns": ("GET", _T + "/pipeline-runs", "list_pipeline_runs"),
    "getPipelineRun": ("GET", _T + "/pipeline-runs/{run}", "get_pipeline_run"),
    "cancelPipelineRun": ("POST", _T + "/pipeline-runs/{run}/cancel", "cancel_pipeline_run"),
    "retryPipelineRun": ("POST", _T + "/pipeline-runs/{run}/retry", "retry_pipeline_run"),
    "pipelineStepLogs": ("GET", _T + "/pipeline-runs/{run}/steps/{step}/logs", "pipeline_step_logs"),
    "createSchedule": ("POST", _T + "/schedules", "create_schedule"),
    "listSchedules": ("GET", _T + "/schedules", "list_schedules"),
    "pauseSchedule": ("POST", _T + "/schedules/{schedule}/pause", "pause_schedule"),
    "resumeSchedule": ("POST", _T + "/schedules/{schedule}/resume", "resume_schedule"),
    "deleteSchedule": ("DELETE", _T + "/schedules/{schedule}", "delete_schedule"),
}


class PipelinesMixin(Transport):
    """The pipeline methods of :class:`ferry.Client`."""

    def create_pipeline(self, tenant: str, body: PipelineCreate) -> PipelineVersion:
        """Creates a pipeline, or adds a version when its spec changed (editor); answers the version."""
        return PipelineVersion.from_json(self._call("createPipeline", (tenant,), body=body))

    def list_pipelines(self, tenant: str, *, limit: int | None = None, after: str | None = None) -> Pager[Pipeline]:
        """A tenant's pipelines by name."""
        return self._pager("listPipelines", Pipeline, (tenant,), limit=limit, after=after)

    def get_pipeline(self, tenant: str, pipeline: str) -> Pipeline:
        """Reads a pipeline."""
        return Pipeline.from_json(self._call("getPipeline", (tenant, pipeline)))

    def list_pipeline_versions(self, tenant: str, pipeline: str, *, limit: int | None = None,
                               after: str | None = None) -> Pager[PipelineVersion]:
        """A pipeline's versions with their specs, newest first."""
        return self._pager("listPipelineVersions", PipelineVersion, (tenant, pipeline), limit=limit, after=after)

    def submit_pipeline_run(self, tenant: str, pipeline: str, body: PipelineRunSubmit) -> PipelineRun:
        """Runs a version of a pipeline with parameter values (editor)."""
        return PipelineRun.from_json(self._call("submitPipelineRun", (tenant, pipeline), body=body))

    def list_pipeline_runs(self, tenant: str, *, pipeline: str | None = None, state: str | None = None,
                           limit: int | None = None, after: str | None = None) -> Pager[PipelineRun]:
        """A tenant's pipeline runs, newest first, optionally of one pipeline or in one state."""
        return self._pager("listPipelineRuns", PipelineRun, (tenant,), query={"pipeline": pipeline, "state": state},
                           limit=limit, after=after)

    def get_pipeline_run(self, tenant: str, run: str) -> PipelineRun:
        """Reads a run with its steps."""
        return PipelineRun.from_json(self._call("getPipelineRun", (tenant, run)))

    def cancel_pipeline_run(self, tenant: str, run: str) -> PipelineRun:
        """Cancels a run (editor): its running pods are deleted."""
        return PipelineRun.from_json(self._call("cancelPipelineRun", (tenant, run)))

    def retry_pipeline_run(self, tenant: str, run: str) -> PipelineRun:
        """Retries a failed or cancelled run from the steps that did not succeed (editor)."""
        return PipelineRun.from_json(self._call("retryPipelineRun", (tenant, run)))

    def pipeline_step_logs(self, tenant: str, run: str, step: str, *, follow: bool = False) -> LogStream:
        """A step's log as a stream of lines (kept after its pod is gone)."""
        conn, resp = self._open("pipelineStepLogs", (tenant, run, step), {"follow": follow or None},
                                accept="text/plain, application/problem+json")
        return LogStream(conn, resp)

    def create_schedule(self, tenant: str, body: ScheduleCreate) -> Schedule:
        """Schedules runs of a pipeline on a cron (editor)."""
        return Schedule.from_json(self._call("createSchedule", (tenant,), body=body))

    def list_schedules(self, tenant: str, *, limit: int | None = None, after: str | None = None) -> Pager[Schedule]:
        """A tenant's schedules by name."""
        return self._pager("listSchedules", Schedule, (tenant,), limit=limit, after=after)

    def pause_schedule(self, tenant: str, schedule: str) -> Schedule:
        """Pauses a schedule (editor)."""
        return Schedule.from_json(self._call("pauseSchedule", (tenant, schedule)))

    def resume_schedule(self, tenant: str, schedule: str) -> Schedule:
        """Resumes a schedule from its next tick, without catching up (editor)."""
        return Schedule.from_json(self._call("resumeSchedule", (tenant, schedule)))

    def delete_schedule(self, tenant: str, schedule: str) -> None:
        """Deletes a schedule; its runs stay (editor)."""
        self._call("deleteSchedule", (tenant, schedule))

    def wait_pipeline_run(self, tenant: str, run: str, timeout: float = 3600.0, *, interval: float = 2.0) -> PipelineRun:
        """Polls a run until it is done (succeeded, failed or cancelled) and returns it.

        Raises TimeoutError, naming the run's state, when it is not done after
        ``timeout`` seconds. Connection failures and 502/503/504 answers while
        waiting are retried.
        """
        return _poll(PipelineRun, lambda: self.get_pipeline_run(tenant, run), lambda r: r.state in PIPELINE_DONE_STATES,
                     lambda r: r.state, timeout=timeout, interval=interval,
                     timed_out=lambda state: f"pipeline run {tenant}/{run} is still {state} after {timeout:g}s")
