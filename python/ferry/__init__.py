"""ferry: the Python SDK of ferry's API.

    import ferry
    client = ferry.Client()              # FERRY_SERVER/FERRY_TOKEN, or `ferry login`'s context
    job = client.submit_job("team-a", ferry.JobSubmit(name="train", image="ferry.local/workload:1",
                                                      command=["python3", "train.py"]))
    job = client.wait_job("team-a", "train", timeout=600)

    with ferry.start_run(experiment="digits") as run:   # tracking from anywhere (ferry.fluent)
        run.log_metric("accuracy", 0.93, step=1)

Requests and answers are the dataclasses of :mod:`ferry.models`, errors are
:class:`FerryError`, lists are :class:`Pager` iterators. The only module
state is the optional default client of :func:`default_client`.
"""

from __future__ import annotations

import threading

from .client import OPERATIONS, Client
from .transport import LogStream, Pager, __version__
from .config import ConfigError
from .tracking import (
    ActiveRun, NotInARun, active_run, log_artifact, log_metric, log_metrics, log_param, log_params, register_model,
    set_tag, set_tags,
)
from .fluent import StartedRun, current_run, end_run, start_run
from .artifacts import Artifact, Input, Output
from .compiler import CompileError
from .dsl import Condition, PipelineFunction, Ref, StepFunction, Task, condition, fan_out, finally_steps, pipeline, step
from .inference import DeploymentsAPI, InferInput, InferOutput, InferResponse, tensor
from .pipelines_api import PipelinesAPI
from .pages import PAGES, page_path, page_url
from .monitoring import Access, QueuedWork, QuotaUse, ResourceAmount, ResourceUse, Top, UsagePoint, WorkloadUsage
from .tuning import (
    TUNING_DONE_STATES, EarlyStopping, Trial, TrialCounts, TrialTemplate, Tuning, TuningCreate, TuningObjective, TuningParam,
    TuningsAPI, TuningSpec,
)
from .errors import ErrorDetail, FerryConnectionError, FerryError
from .pipelines import (
    PIPELINE_DONE_STATES, Backoff, ParallelFor, Pipeline, PipelineCreate, PipelineParam, PipelineRun, PipelineRunSubmit,
    PipelineSpec, PipelineVersion, RetryPolicy, Step, StepInputs, StepOutputs, StepRun,
)
from .serving import (
    APIKey, APIKeyCreate, Deployment, DeploymentCreate, DeploymentEvent, DeploymentSpec, DeploymentUpdate, Revision,
    RevisionStats, RolloutPolicy,
)
from .models import (
    JOB_DONE_STATES, ArtifactLineage, LineageRun, LineageStep, ModelVersionLineage, ModelVersionRef, AuditEntry, AuditVerify, Experiment, Job, JobSpec, JobSubmit, Member, MemberPut,
    MetricValue, ModelVersion, Notebook, NotebookCreate, NotebookHandover, UIHandover, Page, Quota, QuotaChange,
    RegisteredModel, Replica, Resources, Run, SeedImage, SeedNodeStatus, SeedReport, Tenant, TenantCreate,
    TenantUpdate, Token, TokenCreate, TokenCreated, User, UserCreate, UserCreated, Whoami,
)

__all__ = [
    "OPERATIONS", "Client", "LogStream", "Pager", "__version__", "ConfigError", "ErrorDetail",
    "FerryConnectionError", "FerryError", "JOB_DONE_STATES", "AuditEntry", "AuditVerify", "Experiment", "Job",
    "JobSpec", "JobSubmit", "Member", "MemberPut", "MetricValue", "ModelVersion", "Notebook", "NotebookCreate",
    "NotebookHandover", "UIHandover", "Page", "Quota", "QuotaChange", "RegisteredModel", "Replica", "Resources", "Run",
    "SeedImage", "SeedNodeStatus", "SeedReport", "Tenant", "TenantCreate", "TenantUpdate", "Token",
    "TokenCreate", "TokenCreated", "User", "UserCreate", "UserCreated", "Whoami",
    "ArtifactLineage", "LineageRun", "LineageStep", "ModelVersionLineage", "ModelVersionRef",
    "PIPELINE_DONE_STATES", "Backoff", "ParallelFor", "Pipeline", "PipelineCreate", "PipelineParam", "PipelineRun",
    "PipelineRunSubmit", "PipelineSpec", "PipelineVersion", "RetryPolicy", "Step", "StepInputs", "StepOutputs", "StepRun",
    "APIKey", "APIKeyCreate", "Deployment", "DeploymentCreate", "DeploymentEvent", "DeploymentSpec", "DeploymentUpdate",
    "Revision", "RevisionStats", "RolloutPolicy",
    "default_client", "set_default_client", "PAGES", "page_path", "page_url",
    "Artifact", "CompileError", "Condition", "Input", "Output", "PipelineFunction", "Ref", "StepFunction", "Task",
    "condition", "fan_out", "finally_steps", "pipeline", "step",
    "TUNING_DONE_STATES", "EarlyStopping", "Trial", "TrialCounts", "TrialTemplate", "Tuning", "TuningCreate", "TuningObjective",
    "TuningParam", "TuningsAPI", "TuningSpec",
    "Access", "QueuedWork", "QuotaUse", "ResourceAmount", "ResourceUse", "Top", "UsagePoint", "WorkloadUsage",
    "DeploymentsAPI", "InferInput", "InferOutput", "InferResponse", "PipelinesAPI", "tensor",
    "ActiveRun", "NotInARun", "active_run", "log_artifact", "log_metric", "log_metrics", "log_param", "log_params",
    "register_model", "set_tag", "set_tags", "StartedRun", "current_run", "end_run", "start_run",
]

_default: Client | None = None
_lock = threading.Lock()


def default_client() -> Client:
    """The default Client, made on first use with :class:`Client`'s defaults (environment, then CLI config)."""
    global _default
    with _lock:
        if _default is None:
            _default = Client()
        return _default


def set_default_client(client: Client | None) -> None:
    """Replaces the default Client (None: make a fresh one on next use)."""
    global _default
    with _lock:
        _default = client
