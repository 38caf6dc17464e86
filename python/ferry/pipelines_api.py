"""``client.pipelines``: pipelines by verb, taking what :mod:`ferry.dsl` compiles.

    v = client.pipelines.create(digits)                  # a @ferry.pipeline, a PipelineSpec or YAML
    run = client.pipelines.run(digits, {"rows": 1000})   # creates (or reuses) the version, then submits
    run = client.pipelines.wait(run, timeout=1800)
    print(client.pipelines.logs(run, "prepare").text())

Each method takes ``tenant=``, defaulting to the client's (``Client(tenant=...)``
or ``FERRY_TENANT``). They call the operation methods of :class:`ferry.Client`
(``create_pipeline``, ``submit_pipeline_run``...).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .dsl import PipelineFunction
from .pipelines import Pipeline, PipelineCreate, PipelineRun, PipelineRunSubmit, PipelineSpec, PipelineVersion
from .transport import LogStream, Pager

if TYPE_CHECKING:
    from .client import Client

__all__ = ["PipelinesAPI", "parameter_text"]


def parameter_text(value: Any) -> str:
    """A parameter value as the text the API takes: strings as they are, bools true/false, the rest JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def _run_id(run: str | PipelineRun) -> str:
    return run.id if isinstance(run, PipelineRun) else run


class PipelinesAPI:
    """The pipelines of a :class:`ferry.Client` by verb (``client.pipelines``)."""

    def __init__(self, client: Client) -> None:
        self._c = client

    def create(self, pipeline: PipelineFunction | PipelineSpec | str, *, name: str | None = None,
               tenant: str | None = None) -> PipelineVersion:
        """Stores a pipeline, or a new version of it when its spec changed; an identical spec adds none.

        ``pipeline`` is a ``@ferry.pipeline`` (compiled here, named by it), a
        :class:`ferry.PipelineSpec` or YAML text (both need ``name``).
        """
        if isinstance(pipeline, PipelineFunction):
            body = PipelineCreate(name=name or pipeline.name, spec=pipeline.spec())
        elif not name:
            raise ValueError("name: a PipelineSpec or YAML text needs the pipeline's name")
        elif isinstance(pipeline, PipelineSpec):
            body = PipelineCreate(name=name, spec=pipeline)
        else:
            body = PipelineCreate(name=name, yaml=pipeline)
        return self._c.create_pipeline(self._c._tenant(tenant), body)

    def run(self, pipeline: PipelineFunction | str, params: Mapping[str, Any] | None = None, *,
            version: int | None = None, tenant: str | None = None) -> PipelineRun:
        """Submits a run with parameter values (lists and numbers as JSON text).

        A ``@ferry.pipeline`` is created first (its version is reused when
        unchanged) and that version runs; a name runs ``version``, default
        the latest.
        """
        t = self._c._tenant(tenant)
        if isinstance(pipeline, PipelineFunction):
            v = self.create(pipeline, tenant=t)
            name, version = v.pipeline, v.version
        else:
            name = pipeline
        values = {k: parameter_text(v) for k, v in (params or {}).items()}
        return self._c.submit_pipeline_run(t, name, PipelineRunSubmit(parameters=values or None, version=version))

    def get(self, run: str | PipelineRun, *, tenant: str | None = None) -> PipelineRun:
        """Reads a run with its steps."""
        return self._c.get_pipeline_run(self._c._tenant(tenant), _run_id(run))

    def wait(self, run: str | PipelineRun, timeout: float = 3600.0, *, interval: float = 2.0,
             tenant: str | None = None) -> PipelineRun:
        """Polls a run until it is succeeded, failed or cancelled; TimeoutError after ``timeout`` seconds."""
        return self._c.wait_pipeline_run(self._c._tenant(tenant), _run_id(run), timeout, interval=interval)

    def logs(self, run: str | PipelineRun, step: str, *, follow: bool = False, tenant: str | None = None) -> LogStream:
        """A step's log as a stream of lines (``step[2]`` for an item of a fan-out)."""
        return self._c.pipeline_step_logs(self._c._tenant(tenant), _run_id(run), step, follow=follow)

    def cancel(self, run: str | PipelineRun, *, tenant: str | None = None) -> PipelineRun:
        """Cancels a run."""
        return self._c.cancel_pipeline_run(self._c._tenant(tenant), _run_id(run))

    def retry(self, run: str | PipelineRun, *, tenant: str | None = None) -> PipelineRun:
        """Retries a failed or cancelled run from the steps that did not succeed."""
        return self._c.retry_pipeline_run(self._c._tenant(tenant), _run_id(run))

    def list(self, *, tenant: str | None = None) -> Pager[Pipeline]:
        """The tenant's pipelines."""
        return self._c.list_pipelines(self._c._tenant(tenant))

    def versions(self, pipeline: str, *, tenant: str | None = None) -> Pager[PipelineVersion]:
        """A pipeline's versions, newest first."""
        return self._c.list_pipeline_versions(self._c._tenant(tenant), pipeline)

    def runs(self, pipeline: str | None = None, *, state: str | None = None, tenant: str | None = None) -> Pager[PipelineRun]:
        """The tenant's runs, newest first, optionally of one pipeline or in one state."""
        return self._c.list_pipeline_runs(self._c._tenant(tenant), pipeline=pipeline, state=state)
