"""Logging from inside a ferry pod to the pod's own run.

A training job's pods (and anything else ferry tracks) get
``MLFLOW_TRACKING_URI``, ``MLFLOW_EXPERIMENT_ID``, ``MLFLOW_RUN_ID`` and a
``MLFLOW_TRACKING_TOKEN`` that may write only to that run. These functions
use them (or, inside ``with ferry.start_run(...)``, that run: see
:mod:`ferry.fluent`)::

    import ferry
    ferry.log_param("C", 1.0)
    for epoch in range(10):
        ferry.log_metric("accuracy", acc, step=epoch)
    ferry.log_artifact("model.joblib", "model/model.joblib")
    ferry.register_model("digits")           # a new version from this run's model/ directory

They speak MLflow's REST API (what ferry serves per tenant), so the same code
works against any MLflow server given those variables. Outside a run they
raise :class:`NotInARun`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from .errors import FerryConnectionError, FerryError

#: the header ferry's artifact proxy checks an upload's sha256 against
DIGEST_HEADER = "X-Ferry-Sha256"

#: MLflow's limits that a caller hits first (log-batch)
MAX_BATCH_METRICS = 1000


class NotInARun(RuntimeError):
    """Raised when a logging function is called without MLFLOW_TRACKING_URI and MLFLOW_RUN_ID."""


@dataclass(frozen=True)
class ActiveRun:
    """The run a pod logs to, read from its environment (or one that :func:`ferry.start_run` started)."""

    tracking_uri: str
    run_id: str
    experiment_id: str
    token: str | None = None
    #: the TLS settings of an https tracking URI (None: the system's)
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> ActiveRun:
        """The run of MLFLOW_TRACKING_URI/MLFLOW_RUN_ID/MLFLOW_EXPERIMENT_ID/MLFLOW_TRACKING_TOKEN."""
        e = os.environ if env is None else env
        uri, run = e.get("MLFLOW_TRACKING_URI", ""), e.get("MLFLOW_RUN_ID", "")
        if not uri or not run:
            raise NotInARun("not inside a tracked run: MLFLOW_TRACKING_URI and MLFLOW_RUN_ID are not set")
        if not uri.startswith(("http://", "https://")):
            raise NotInARun(f"MLFLOW_TRACKING_URI {uri!r} is not an http(s) URL")
        return cls(uri.rstrip("/"), run, e.get("MLFLOW_EXPERIMENT_ID", "0"), e.get("MLFLOW_TRACKING_TOKEN") or None)

    # --- transport -------------------------------------------------------------------------

    def _send(self, method: str, path: str, *, body: Any = None, data: bytes | None = None,
              headers: dict[str, str] | None = None, retries: int = 4, timeout: float = 60) -> Any:
        hdrs = dict(headers or {})
        if self.token:
            hdrs["Authorization"] = "Bearer " + self.token
        if body is not None:
            data = json.dumps(body, allow_nan=False).encode()
            hdrs["Content-Type"] = "application/json"
        url = self.tracking_uri + path
        last = ""
        for attempt in range(retries + 1):
            req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
            try:
                with urllib.request.urlopen(req, timeout=timeout, context=self.ssl_context) as resp:
                    raw = resp.read()
                    return json.loads(raw) if raw else {}
            except urllib.error.HTTPError as e:
                raw = e.read()
                try:
                    detail = json.loads(raw)
                except ValueError:
                    detail = {"message": raw.decode(errors="replace")[:500]}
                if e.code < 500:
                    raise FerryError(status=e.code, title=detail.get("error_code", "error"),
                                     detail=detail.get("message", "")) from None
                last = f"{e.code} {detail.get('message', '')}"
            except OSError as e:  # connection refused or reset: the control plane restarting
                last = str(e)
            if attempt < retries:
                time.sleep(min(2 ** attempt, 10))
        raise FerryConnectionError(status=0, title=f"{method} {url}: {last}")

    def _call(self, endpoint: str, body: dict[str, Any]) -> Any:
        return self._send("POST", "/api/2.0/mlflow/" + endpoint, body=body)

    # --- logging ---------------------------------------------------------------------------

    def log_params(self, params: dict[str, Any]) -> None:
        """Logs parameters (set once: a different value later is an error, as in MLflow)."""
        items = [{"key": k, "value": str(v)} for k, v in params.items()]
        for i in range(0, len(items), 100):
            self._call("runs/log-batch", {"run_id": self.run_id, "params": items[i:i + 100]})

    def log_metrics(self, metrics: dict[str, float], step: int = 0, timestamp_ms: int | None = None) -> None:
        """Logs one point per metric at step."""
        ts = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
        points = [{"key": k, "value": _number(v), "step": int(step), "timestamp": ts} for k, v in metrics.items()]
        for i in range(0, len(points), MAX_BATCH_METRICS):
            self._call("runs/log-batch", {"run_id": self.run_id, "metrics": points[i:i + MAX_BATCH_METRICS]})

    def set_tags(self, tags: dict[str, str]) -> None:
        """Sets tags on the run."""
        self._call("runs/log-batch", {"run_id": self.run_id, "tags": [{"key": k, "value": str(v)} for k, v in tags.items()]})

    def log_artifact(self, local_path: str, artifact_path: str | None = None) -> str:
        """Uploads a file into the run's artifacts (at artifact_path, default its base name); returns its sha256."""
        rel = artifact_path or os.path.basename(local_path)
        parts = rel.split("/")
        if not rel or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"artifact path {rel!r} must be relative, without '.', '..' or empty segments")
        with open(local_path, "rb") as f:
            data = f.read()
        digest = hashlib.sha256(data).hexdigest()
        path = "/api/2.0/mlflow-artifacts/artifacts/{}/{}/artifacts/{}".format(
            urllib.parse.quote(self.experiment_id), urllib.parse.quote(self.run_id), urllib.parse.quote(rel))
        self._send("PUT", path, data=data, headers={DIGEST_HEADER: digest, "Content-Type": "application/octet-stream"})
        return digest

    def register_model(self, name: str, artifact_dir: str = "model") -> int:
        """Registers the run's artifact_dir as a new version of model name (made when missing); returns the version."""
        try:
            self._call("registered-models/create", {"name": name})
        except FerryError as e:
            if e.title != "RESOURCE_ALREADY_EXISTS":
                raise
        source = f"mlflow-artifacts:/{self.experiment_id}/{self.run_id}/artifacts/{artifact_dir.strip('/')}"
        v = self._call("model-versions/create", {"name": name, "source": source, "run_id": self.run_id})
        return int(v["model_version"]["version"])


def _number(v: float) -> float | str:
    """MLflow's JSON for a metric value: NaN and infinities as strings."""
    f = float(v)
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "Infinity" if f > 0 else "-Infinity"
    return f


def active_run() -> ActiveRun:
    """The run logging goes to: the innermost :func:`ferry.start_run` of this thread, else the pod's run
    (from its environment); raises NotInARun outside both."""
    from .fluent import current_run  # fluent builds on this module

    started = current_run()
    if started is not None:
        return started.run
    return ActiveRun.from_env()


def log_param(key: str, value: Any) -> None:
    """Logs one parameter to the active run (see :func:`active_run`)."""
    active_run().log_params({key: value})


def log_params(params: dict[str, Any]) -> None:
    """Logs parameters to the active run."""
    active_run().log_params(params)


def log_metric(key: str, value: float, step: int = 0) -> None:
    """Logs one metric point to the active run."""
    active_run().log_metrics({key: value}, step=step)


def log_metrics(metrics: dict[str, float], step: int = 0) -> None:
    """Logs one point of each metric to the active run."""
    active_run().log_metrics(metrics, step=step)


def set_tag(key: str, value: Any) -> None:
    """Sets one tag on the active run."""
    active_run().set_tags({key: str(value)})


def set_tags(tags: dict[str, Any]) -> None:
    """Sets tags on the active run."""
    active_run().set_tags({k: str(v) for k, v in tags.items()})


def log_artifact(local_path: str, artifact_path: str | None = None) -> str:
    """Uploads a file to the active run; returns its sha256."""
    return active_run().log_artifact(local_path, artifact_path)


def register_model(name: str, artifact_dir: str = "model") -> int:
    """Registers the active run's artifact_dir as a new version of name; returns the version number."""
    return active_run().register_model(name, artifact_dir)
