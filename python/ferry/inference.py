"""Serving by verb (``client.deployments``) and inference through the gateway (``client.infer``).

    client.deployments.create("iris", model="iris@champion", min=0)
    client.deployments.update("iris", model="iris/3", canary_weight=20)
    client.deployments.promote("iris")
    answer = client.infer("iris", {"input-0": [[5.1, 3.5, 1.4, 0.2]]})
    print(answer.outputs[0].data)          # [0]

:meth:`infer` speaks the Open Inference Protocol v2 (REST) to
``<gateway>/serve/<tenant>/<deployment>/v2/models/<model>/infer``; the
gateway is ``Client(gateway=...)``, ``FERRY_GATEWAY`` or the CLI context's
``gateway``. It authenticates with the client's token, or with a
deployment's API key (``key=``, sent as ``X-Ferry-Key``).
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import FerryConnectionError, FerryError
from .serving import APIKey, APIKeyCreate, Deployment, DeploymentCreate, DeploymentUpdate
from .transport import MAX_ANSWER_BYTES, Pager, __version__, _read

if TYPE_CHECKING:
    from .client import Client

__all__ = ["DeploymentsAPI", "InferInput", "InferOutput", "InferResponse", "infer_path", "tensor"]


@dataclass
class InferInput:
    """One input tensor of an inference request: name, shape, datatype (FP64, INT64, BOOL, BYTES...) and data."""

    name: str
    shape: list[int]
    datatype: str
    data: list[Any]
    parameters: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The tensor as the request's JSON (Open Inference Protocol v2)."""
        out: dict[str, Any] = {"name": self.name, "shape": self.shape, "datatype": self.datatype, "data": self.data}
        if self.parameters:
            out["parameters"] = self.parameters
        return out


@dataclass
class InferOutput:
    """One output tensor of an inference answer."""

    name: str
    shape: list[int]
    datatype: str
    data: list[Any]
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass
class InferResponse:
    """An inference answer: the model that answered and its output tensors."""

    model_name: str
    outputs: list[InferOutput]
    model_version: str | None = None
    id: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)

    def output(self, name: str) -> InferOutput:
        """The output tensor called ``name`` (KeyError when there is none)."""
        for o in self.outputs:
            if o.name == name:
                return o
        raise KeyError(f"no output {name!r}; the outputs are {[o.name for o in self.outputs]}")

    @classmethod
    def from_json(cls, d: Any) -> InferResponse:
        """Decodes an inference answer; FerryError when it is not one."""
        if not isinstance(d, dict) or not isinstance(d.get("outputs"), list):
            raise FerryError(status=0, title=f"not an inference answer: {str(d)[:200]}")
        outs = [InferOutput(name=o.get("name", ""), shape=list(o.get("shape") or []), datatype=o.get("datatype", ""),
                            data=list(o.get("data") or []), parameters=dict(o.get("parameters") or {})) for o in d["outputs"]]
        return cls(model_name=str(d.get("model_name", "")), outputs=outs, model_version=d.get("model_version"),
                   id=d.get("id"), parameters=dict(d.get("parameters") or {}))


def tensor(name: str, value: Any, datatype: str | None = None) -> InferInput:
    """An input tensor from nested lists (or anything with ``tolist()``, such as a numpy array):
    its shape from the nesting, its datatype from the values (BOOL, INT64, FP64, BYTES) unless given."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    shape: list[int] = []
    level: Any = value
    while isinstance(level, (list, tuple)):
        shape.append(len(level))
        level = level[0] if level else None
    flat: list[Any] = []
    stack = [value]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(reversed(x))
        else:
            flat.append(x)
    if not shape:
        shape = [1]
    if datatype is None:
        if flat and all(isinstance(x, bool) for x in flat):
            datatype = "BOOL"
        elif flat and all(isinstance(x, int) and not isinstance(x, bool) for x in flat):
            datatype = "INT64"
        elif all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in flat):
            datatype = "FP64"
        else:
            datatype = "BYTES"
    return InferInput(name=name, shape=shape, datatype=datatype, data=flat)


def infer_path(tenant: str, deployment: str, model: str) -> str:
    """The gateway path of a model's infer endpoint."""
    t, d, m = (urllib.parse.quote(s, safe="") for s in (tenant, deployment, model))
    return f"/serve/{t}/{d}/v2/models/{m}/infer"


def infer(c: Client, deployment: str, inputs: Any, *, model: str | None = None, tenant: str | None = None,
          key: str | None = None, outputs: list[str] | None = None, parameters: dict[str, Any] | None = None,
          id: str | None = None, timeout: float | None = None) -> InferResponse:
    """See :meth:`ferry.Client.infer`."""
    if not c.gateway:
        raise ValueError("no gateway: pass Client(gateway=...), set FERRY_GATEWAY, or `ferry login --gateway URL`")
    if isinstance(inputs, dict):
        tensors = [v if isinstance(v, InferInput) else tensor(k, v) for k, v in inputs.items()]
    elif isinstance(inputs, InferInput):
        tensors = [inputs]
    elif isinstance(inputs, list) and inputs and all(isinstance(x, InferInput) for x in inputs):
        tensors = list(inputs)
    else:
        tensors = [tensor("input-0", inputs)]
    body: dict[str, Any] = {"inputs": [t.to_json() for t in tensors]}
    if id is not None:
        body["id"] = id
    if parameters:
        body["parameters"] = parameters
    if outputs:
        body["outputs"] = [{"name": n} for n in outputs]
    u = urllib.parse.urlsplit(c.gateway)
    if u.scheme not in ("http", "https") or not u.hostname:
        raise ValueError(f"gateway {c.gateway!r}: must be an http:// or https:// URL")
    path = u.path.rstrip("/") + infer_path(c._tenant(tenant), deployment, model or deployment)
    headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": f"ferry-python/{__version__}"}
    if key:
        headers["X-Ferry-Key"] = key
    elif c._token:
        headers["Authorization"] = "Bearer " + c._token
    t = c.timeout if timeout is None else timeout
    conn: http.client.HTTPConnection
    if u.scheme == "https":
        conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=t, context=c._ssl)
    else:
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=t)
    try:
        conn.request("POST", path, body=json.dumps(body, allow_nan=False).encode(), headers=headers)
        resp = conn.getresponse()
        data = _read(resp, MAX_ANSWER_BYTES, truncate=resp.status >= 300)
    except (OSError, http.client.HTTPException) as e:
        raise FerryConnectionError(status=0, title=f"cannot reach the gateway at {c.gateway}: {e}") from e
    finally:
        conn.close()
    if resp.status >= 300:
        try:  # the model server's errors are {"error": message}; the gateway's are problems
            msg = json.loads(data).get("error")
        except (ValueError, AttributeError):
            msg = None
        if isinstance(msg, str):
            raise FerryError(status=resp.status, title=msg)
        raise FerryError.from_answer(resp.status, data)
    try:
        answer = json.loads(data)
    except ValueError as e:
        raise FerryError(status=resp.status, title=f"decode inference answer: {e}") from e
    return InferResponse.from_json(answer)


class DeploymentsAPI:
    """The deployments of a :class:`ferry.Client` by verb (``client.deployments``); ``tenant=`` defaults to the client's."""

    def __init__(self, client: Client) -> None:
        self._c = client

    def create(self, name: str, model: str, *, tenant: str | None = None, **fields: Any) -> Deployment:
        """Serves a registered model version (``NAME/VERSION`` or ``NAME@ALIAS``, followed); ``fields`` are
        :class:`ferry.DeploymentCreate`'s (runtime, image, port, min, max, concurrency, idle_seconds, resources, startup_cpu, rollout)."""
        return self._c.create_deployment(self._c._tenant(tenant), DeploymentCreate(name=name, model=model, **fields))

    def get(self, name: str, *, tenant: str | None = None) -> Deployment:
        """A deployment with its revisions, weights, replicas, rates and latencies."""
        return self._c.get_deployment(self._c._tenant(tenant), name)

    def list(self, *, tenant: str | None = None) -> Pager[Deployment]:
        """The tenant's deployments."""
        return self._c.list_deployments(self._c._tenant(tenant))

    def update(self, name: str, *, tenant: str | None = None, **fields: Any) -> Deployment:
        """Changes a deployment (:class:`ferry.DeploymentUpdate`'s fields); a new model version starts a canary
        at ``canary_weight``."""
        return self._c.update_deployment(self._c._tenant(tenant), name, DeploymentUpdate(**fields))

    def promote(self, name: str, *, tenant: str | None = None) -> Deployment:
        """Makes the canary stable at 100%."""
        return self._c.promote_deployment(self._c._tenant(tenant), name)

    def rollback(self, name: str, *, tenant: str | None = None) -> Deployment:
        """Rolls the canary back, or returns to the previous stable revision."""
        return self._c.rollback_deployment(self._c._tenant(tenant), name)

    def wait(self, name: str, timeout: float = 600.0, *, interval: float = 2.0, tenant: str | None = None) -> Deployment:
        """Polls until every revision that takes traffic is ready (:meth:`ferry.Client.wait_deployment`)."""
        return self._c.wait_deployment(self._c._tenant(tenant), name, timeout, interval=interval)

    def delete(self, name: str, *, tenant: str | None = None) -> None:
        """Deletes a deployment with its revisions and keys."""
        self._c.delete_deployment(self._c._tenant(tenant), name)

    def create_key(self, name: str, key_name: str | None = None, *, tenant: str | None = None) -> APIKey:
        """A new API key for this deployment only; its ``secret`` is in this answer only."""
        return self._c.create_deployment_key(self._c._tenant(tenant), name, APIKeyCreate(name=key_name))

    def keys(self, name: str, *, tenant: str | None = None) -> Pager[APIKey]:
        """The deployment's keys, without secrets."""
        return self._c.list_deployment_keys(self._c._tenant(tenant), name)

    def delete_key(self, name: str, id: str, *, tenant: str | None = None) -> None:
        """Revokes one of the deployment's keys."""
        self._c.delete_deployment_key(self._c._tenant(tenant), name, id)
