"""ferry's built-in scikit-learn runtime: the Open Inference Protocol (v2 REST) and the v1 :predict form.

Started by the revision's pod as `python3 oip_server.py`, with FERRY_ARTIFACT_URL, FERRY_ARTIFACT_DIGEST,
FERRY_KEY, FERRY_MODEL_NAME and FERRY_PORT. It is live at once and ready only once the model file has been
fetched from the control plane, its sha256 matched the digest, and it loaded. Standard library only, plus
scikit-learn/joblib (or pickle) to load the model; the protocol layer (Protocol) needs neither.

Endpoints (https://github.com/kserve/open-inference-protocol, REST):
  GET  /v2/health/live, /v2/health/ready        200 when live / ready (else 503)
  GET  /v2/models/{m}, /v2/models/{m}/ready     model metadata / 200 when ready
  POST /v2/models/{m}/infer                     {"inputs": [{"name", "shape", "datatype", "data"}]}
  POST /v1/models/{m}:predict                   {"instances": [[...], ...]} -> {"predictions": [...]}
Errors are {"error": "<message>"} with a 4xx/5xx status, as the protocol says.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import pickle
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 64 << 20

# The protocol's tensor datatypes and the Python values their data may hold.
INT_TYPES = {"INT8": (-2**7, 2**7 - 1), "INT16": (-2**15, 2**15 - 1), "INT32": (-2**31, 2**31 - 1), "INT64": (-2**63, 2**63 - 1),
             "UINT8": (0, 2**8 - 1), "UINT16": (0, 2**16 - 1), "UINT32": (0, 2**32 - 1), "UINT64": (0, 2**64 - 1)}
FLOAT_TYPES = {"FP16", "FP32", "FP64"}
DATATYPES = set(INT_TYPES) | FLOAT_TYPES | {"BOOL", "BYTES"}


class ProtocolError(Exception):
    """An error answered as {"error": message} with status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def flatten(data):
    """The protocol allows data flat (row-major) or nested as the shape; this flattens it."""
    if not isinstance(data, list):
        return [data]
    out = []
    stack = [iter(data)]
    while stack:
        for x in stack[-1]:
            if isinstance(x, list):
                stack.append(iter(x))
                break
            out.append(x)
        else:
            stack.pop()
    return out


def check_tensor(t, where: str):
    """Validates one request tensor; returns (name, shape, datatype, flat data)."""
    if not isinstance(t, dict):
        raise ProtocolError(400, f"{where}: a tensor is an object with name, shape, datatype and data")
    for k in ("name", "shape", "datatype", "data"):
        if k not in t:
            raise ProtocolError(400, f"{where}: missing '{k}'")
    name, shape, dt = t["name"], t["shape"], t["datatype"]
    if not isinstance(name, str) or not name:
        raise ProtocolError(400, f"{where}: 'name' must be a non-empty string")
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        raise ProtocolError(400, f"{where} ({name}): 'shape' must be a list of non-negative integers")
    if dt not in DATATYPES:
        raise ProtocolError(400, f"{where} ({name}): unknown datatype {dt!r}; one of {', '.join(sorted(DATATYPES))}")
    data = flatten(t["data"])
    n = math.prod(shape)
    if len(data) != n:
        raise ProtocolError(400, f"{where} ({name}): shape {shape} holds {n} elements, data has {len(data)}")
    for i, v in enumerate(data):
        ok = (dt == "BOOL" and isinstance(v, bool)) or \
             (dt == "BYTES" and isinstance(v, str)) or \
             (dt in INT_TYPES and isinstance(v, int) and not isinstance(v, bool) and INT_TYPES[dt][0] <= v <= INT_TYPES[dt][1]) or \
             (dt in FLOAT_TYPES and isinstance(v, (int, float)) and not isinstance(v, bool))
        if not ok:
            raise ProtocolError(400, f"{where} ({name}): element {i} ({v!r}) is not {dt}")
    return name, shape, dt, data


class Protocol:
    """The protocol's handling, independent of how the model predicts.

    model: object with predict(rows) -> list (rows: list of lists of floats); n_features: its input width
    (None: any); name: the model's name in paths.
    """

    def __init__(self, name: str, version: str = "1") -> None:
        self.name, self.version = name, version
        self.model = None
        self.n_features = None
        self.live = True
        self.error = ""

    @property
    def ready(self) -> bool:
        return self.model is not None

    def metadata(self) -> dict:
        return {"name": self.name, "versions": [self.version], "platform": "sklearn",
                "inputs": [{"name": "input-0", "datatype": "FP64", "shape": [-1, self.n_features if self.n_features else -1]}],
                "outputs": [{"name": "predict", "datatype": "INT64", "shape": [-1]}]}

    def _model(self, name: str):
        if name != self.name:
            raise ProtocolError(404, f"no model {name!r} here (this runtime serves {self.name!r})")
        if not self.ready:
            raise ProtocolError(503, f"model {name} is not ready" + (f": {self.error}" if self.error else ""))
        return self.model

    def _rows(self, shape, data):
        if len(shape) == 1:
            shape = [1, shape[0]]
        if len(shape) != 2:
            raise ProtocolError(400, f"input shape {shape} is not [batch, features]")
        if self.n_features is not None and shape[1] != self.n_features:
            raise ProtocolError(400, f"input shape {shape}: the model takes {self.n_features} features")
        return [[float(x) for x in data[r * shape[1]:(r + 1) * shape[1]]] for r in range(shape[0])]

    def infer(self, name: str, body) -> dict:
        model = self._model(name)
        if not isinstance(body, dict) or not isinstance(body.get("inputs"), list) or not body["inputs"]:
            raise ProtocolError(400, "the request needs 'inputs', a non-empty list of tensors")
        tensors = [check_tensor(t, f"inputs[{i}]") for i, t in enumerate(body["inputs"])]
        if len(tensors) != 1:
            raise ProtocolError(400, f"the model takes one input tensor, got {len(tensors)}")
        _, shape, dt, data = tensors[0]
        if dt in ("BOOL", "BYTES"):
            raise ProtocolError(400, f"inputs[0]: datatype {dt} does not match the model's input (FP64 or another number type)")
        preds = self._predict(model, self._rows(shape, data))
        out = {"model_name": self.name, "model_version": self.version, "outputs": [output("predict", preds)]}
        if "id" in body:
            out["id"] = body["id"]
        return out

    def predict_v1(self, name: str, body) -> dict:
        model = self._model(name)
        inst = body.get("instances") if isinstance(body, dict) else None
        if not isinstance(inst, list) or not inst or not all(isinstance(r, list) for r in inst):
            raise ProtocolError(400, "the request needs 'instances', a non-empty list of rows")
        width = len(inst[0])
        flat = flatten(inst)
        if len(flat) != width * len(inst) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in flat):
            raise ProtocolError(400, "'instances' must be rows of numbers, all of one width")
        return {"predictions": self._predict(model, self._rows([len(inst), width], flat))}

    @staticmethod
    def _predict(model, rows):
        try:
            preds = model.predict(rows)
        except Exception as e:  # the model's own failure is the server's error
            raise ProtocolError(500, f"the model failed: {type(e).__name__}: {e}") from e
        return [p.item() if hasattr(p, "item") else p for p in list(preds)]

    def route(self, method: str, path: str, body_bytes: bytes | None):
        """(status, answer) for one request."""
        parts = [p for p in path.split("?", 1)[0].split("/") if p]
        try:
            if method == "GET":
                if parts == ["v2", "health", "live"]:
                    return 200, {"live": True}
                if parts == ["v2", "health", "ready"]:
                    return (200, {"ready": True}) if self.ready else (503, {"error": "not ready" + (f": {self.error}" if self.error else "")})
                if parts == ["v2"]:
                    return 200, {"name": "ferry-sklearn", "version": "1", "extensions": []}
                if len(parts) == 3 and parts[:2] == ["v2", "models"]:
                    if parts[2] != self.name:
                        raise ProtocolError(404, f"no model {parts[2]!r} here")
                    return 200, self.metadata()
                if len(parts) == 4 and parts[:2] == ["v2", "models"] and parts[3] == "ready":
                    self._model(parts[2])
                    return 200, {"name": self.name, "ready": True}
            if method == "POST":
                if len(parts) == 4 and parts[:2] == ["v2", "models"] and parts[3] == "infer":
                    return 200, self.infer(parts[2], parse(body_bytes))
                if len(parts) == 3 and parts[:2] == ["v1", "models"] and parts[2].endswith(":predict"):
                    return 200, self.predict_v1(parts[2][: -len(":predict")], parse(body_bytes))
            raise ProtocolError(404, f"no endpoint {method} {path}")
        except ProtocolError as e:
            return e.status, {"error": str(e)}


def parse(b: bytes | None):
    try:
        return json.loads(b or b"")
    except (ValueError, UnicodeDecodeError) as e:
        raise ProtocolError(400, f"the body is not JSON: {e}") from e


def output(name: str, values: list) -> dict:
    if all(isinstance(v, bool) for v in values):
        dt = "BOOL"
    elif all(isinstance(v, int) for v in values):
        dt = "INT64"
    elif all(isinstance(v, (int, float)) for v in values):
        dt = "FP64"
    else:
        dt, values = "BYTES", [str(v) for v in values]
    return {"name": name, "shape": [len(values)], "datatype": dt, "data": values}


def fetch_and_load(proto: Protocol, url: str, digest: str, key: str, attempts: int = 60) -> None:
    """Fetches the model file, checks its sha256 against digest, loads it; retries while the control plane is away."""
    for i in range(attempts):
        try:
            req = urllib.request.Request(url, headers={"X-Ferry-Key": key})
            with urllib.request.urlopen(req, timeout=30) as r:
                blob = r.read()
            got = hashlib.sha256(blob).hexdigest()
            if got != digest:
                proto.error = f"the model file's sha256 is {got}, the revision says {digest}: refusing it"
                return
            proto.model = load(blob)
            n = getattr(proto.model, "n_features_in_", None)
            proto.n_features = int(n) if n is not None else None
            proto.error = ""
            return
        except Exception as e:  # noqa: BLE001 - reported through readiness
            proto.error = f"fetching the model (attempt {i + 1}): {e}"
            time.sleep(min(2 ** i * 0.2, 5))


def prefer_stdlib_distutils() -> None:
    """Makes `import distutils` (joblib imports it) the standard library's.

    Debian's setuptools installs a .pth hook that answers `import distutils` with setuptools' own copy,
    which imports all of setuptools and pkg_resources: about 1 s of a revision's start at a quarter of a
    CPU, of the 1.4 s joblib takes to import. The hook is a finder on sys.meta_path, installed at start
    unless SETUPTOOLS_USE_DISTUTILS=stdlib: it is taken out (and the variable set for child processes).
    """
    os.environ["SETUPTOOLS_USE_DISTUTILS"] = "stdlib"
    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__module__ != "_distutils_hack"]
    import warnings
    warnings.filterwarnings("ignore", message="The distutils package is deprecated", category=DeprecationWarning)


def warm() -> None:
    """Imports what unpickling any scikit-learn model needs (joblib, sklearn.base: NumPy, SciPy), while
    the model file is fetched: the start then waits for the slower of the two, not for both."""
    try:
        import joblib  # noqa: F401
        import sklearn.base  # noqa: F401
    except ImportError:
        pass


def load(blob: bytes):
    try:
        import joblib  # scikit-learn's own dependency
        return joblib.load(io.BytesIO(blob))
    except ImportError:
        return pickle.loads(blob)


def serve(proto: Protocol, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self, method: str) -> None:
            # Every request's body is read (a GET's too), or the connection is closed: bytes left
            # unread would be taken as the next request on this keep-alive connection.
            try:
                n = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                n = -1
            if n < 0 or n > MAX_BODY or self.headers.get("Transfer-Encoding"):
                self.close_connection = True
                self._send(413 if n > MAX_BODY else 400,
                           {"error": f"the body is over {MAX_BODY} bytes" if n > MAX_BODY else "a body needs a valid Content-Length"})
                return
            data = self.rfile.read(n) if n else b""
            body = data if method == "POST" else None
            status, answer = proto.route(method, self.path, body)
            self._send(status, answer)

        def _send(self, status: int, answer: dict) -> None:
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            self._answer("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._answer("POST")

        def log_message(self, *args) -> None:
            pass

    srv = ThreadingHTTPServer(("", port), Handler)
    srv.daemon_threads = True
    return srv


def main() -> None:
    prefer_stdlib_distutils()
    threading.Thread(target=warm, daemon=True).start()
    env = os.environ
    proto = Protocol(env.get("FERRY_MODEL_NAME", "model"))
    srv = serve(proto, int(env.get("FERRY_PORT", "8080")))
    threading.Thread(target=fetch_and_load, daemon=True,
                     args=(proto, env["FERRY_ARTIFACT_URL"], env["FERRY_ARTIFACT_DIGEST"], env.get("FERRY_KEY", ""))).start()
    print(f"ferry sklearn runtime: serving {proto.name} on :{srv.server_address[1]}", file=sys.stderr, flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
