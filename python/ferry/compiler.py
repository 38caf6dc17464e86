"""What :mod:`ferry.dsl` checks and writes: types of step parameters, a step's own source, the spec's
bounds as the server checks them (runtime/pipelines), the step's command, and the YAML of a spec."""

from __future__ import annotations

import ast
import builtins
import dis
import inspect
import json
import math
import re
import textwrap
import types
import typing
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from .artifacts import Artifact, Input, Output

if TYPE_CHECKING:
    from .dsl import StepFunction
    from .pipelines import PipelineSpec, Step

__all__ = ["CompileError", "check_name", "check_pipeline", "encode_value", "function_source", "kind_of", "manifest_command",
           "param_type", "to_yaml", "RUNNER"]

#: the module a function step's command runs (``python3 -m ferry.runstep MANIFEST SOURCE``)
RUNNER = "ferry.runstep"

# Bounds of api/v1/pipelines.go and api/v1/jobs.go.
MAX_SPEC_BYTES = 256 << 10
MAX_STEPS = 200
MAX_FINALLY = 20
MAX_PARAMETERS = 100
MAX_PARALLEL_FOR = 1000
MAX_STEP_NAME = 40
MAX_GPU = 64
CPU_BOUNDS = (1e-3, 1024.0)
MEMORY_BOUNDS = (float(1 << 20), float(16 << 40))

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DURATION = re.compile(r"^(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$")
_QUANTITY = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][-+]?\d+)?$")
_SUFFIX = {"": 1.0, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
           "Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40, "Pi": 2.0**50, "Ei": 2.0**60}
_STEP_REF = re.compile(r"\{\{\s*steps\.([^.{}\s]+)\.outputs\.")
_RETRY_ON = {"error", "oom", "timeout", "evicted"}


class CompileError(ValueError):
    """A pipeline or step that the server would refuse, found before anything is sent.

    ``where`` names the step or pipeline (``step train``), ``message`` the
    field and what is wrong with it (``input c: no value given``).
    """

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where, self.message = where, message

    @property
    def step(self) -> str | None:
        """The step at fault, when it is a step."""
        return self.where[5:] if self.where.startswith("step ") else None


def check_name(where: str, field: str, name: str, max_len: int = MAX_STEP_NAME) -> None:
    """A DNS-1123 label of at most max_len characters (step and pipeline names)."""
    if not name or len(name) > max_len or not _DNS_LABEL.match(name):
        raise CompileError(where, f"{field} {name!r}: a DNS-1123 label (lower-case letters, digits, '-') of at most {max_len} characters")


# --- types -------------------------------------------------------------------------------

_VALUE_KINDS = {str: "str", bool: "bool", int: "int", float: "float"}


def kind_of(where: str, what: str, ann: Any, *, artifacts: bool = False) -> str:
    """The kind of a step parameter or return value: str, int, float, bool, json, input or output."""
    if ann is Any:
        return "str"
    if ann in _VALUE_KINDS:
        return _VALUE_KINDS[ann]
    origin = typing.get_origin(ann)
    if ann in (list, tuple, dict) or origin in (list, tuple, dict):
        return "json"
    if origin in (Input, Output) and artifacts:
        (arg,) = typing.get_args(ann)
        if isinstance(arg, type) and issubclass(arg, Artifact):
            return "input" if origin is Input else "output"
    allowed = "str, int, float, bool, list, dict" + (", ferry.Input[ferry.Artifact], ferry.Output[ferry.Artifact]" if artifacts else "")
    raise CompileError(where, f"{what}: type {getattr(ann, '__name__', ann)!s} is not one a step passes ({allowed})")


_PARAM_TYPES = {str: "string", int: "int", float: "float", bool: "bool", list: "list", tuple: "list"}


def param_type(where: str, what: str, ann: Any, default: Any) -> str:
    """The spec type of a pipeline parameter from its annotation (else its default's type)."""
    t = ann if ann is not None else (type(default) if default is not None else str)
    t = typing.get_origin(t) or t
    if t not in _PARAM_TYPES:
        raise CompileError(where, f"{what}: type {getattr(t, '__name__', t)!s} is not a pipeline parameter's (str, int, float, bool, list)")
    pt = _PARAM_TYPES[t]
    if default is not None:
        ok = {"string": isinstance(default, str), "bool": isinstance(default, bool),
              "int": isinstance(default, int) and not isinstance(default, bool),
              "float": isinstance(default, (int, float)) and not isinstance(default, bool),
              "list": isinstance(default, (list, tuple))}[pt]
        if not ok:
            raise CompileError(where, f"{what}: the default {default!r} is not a {pt}")
    return pt


def encode_value(value: Any, *, kind: str | None = None, where: str = "value", what: str = "") -> str:
    """A literal as the text a step reads: strings as they are, bools true/false, the rest JSON."""
    pre = what + ": " if what else ""
    if kind is not None:
        ok = {"str": isinstance(value, (str, int, float)), "bool": isinstance(value, bool),
              "int": isinstance(value, int) and not isinstance(value, bool),
              "float": isinstance(value, (int, float)) and not isinstance(value, bool),
              "json": isinstance(value, (list, tuple, dict))}.get(kind, True)
        if not ok:
            raise CompileError(where, pre + f"{value!r} is not a {kind}")
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = value
    else:
        if isinstance(value, float) and not math.isfinite(value):
            raise CompileError(where, pre + f"{value!r}: not a finite number")
        try:
            text = json.dumps(value, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as e:
            raise CompileError(where, pre + f"{value!r} cannot be passed as JSON: {e}") from None
        if not any("{{" in x or "}}" in x for x in _strings(value)):
            # nested objects end in "}}", which the spec reads as a reference: JSON allows a space between
            text = text.replace("{{", "{ {").replace("}}", "} }").replace("}}", "} }").replace("{{", "{ {")
    if "{{" in text or "}}" in text:
        raise CompileError(where, pre + f"{text!r} has {{{{ or }}}}, which the spec reads as a reference")
    return text


def _strings(v: Any) -> Iterator[str]:
    if isinstance(v, str):
        yield v
    elif isinstance(v, dict):
        for k, x in v.items():
            yield str(k)
            yield from _strings(x)
    elif isinstance(v, (list, tuple)):
        for x in v:
            yield from _strings(x)


# --- a step's own source -----------------------------------------------------------------


def function_source(where: str, fn: Callable[..., Any], extra_names: tuple[str, ...] = ()) -> str:
    """The function's source without its decorators, after checking that it runs alone: no closure,
    no names of its module but ``extra_names`` (which the runner defines), literal defaults."""
    try:
        text = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError) as e:
        raise CompileError(where, f"cannot read the function's source ({e}): define it in a file or a notebook cell") from None
    tree = ast.parse(text)
    node = next((n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None)
    if node is None or isinstance(node, ast.AsyncFunctionDef):
        raise CompileError(where, "a step is a plain (not async) function")
    for d in [*node.args.defaults, *(k for k in node.args.kw_defaults if k is not None)]:
        try:
            ast.literal_eval(d)
        except ValueError:
            raise CompileError(where, f"the default {ast.unparse(d)} is not a literal; the step's source runs alone in its pod") from None
    code = getattr(fn, "__code__", None)
    if not isinstance(code, types.CodeType):
        raise CompileError(where, "a step is a plain Python function")
    if code.co_freevars:
        raise CompileError(where, f"the function uses {', '.join(code.co_freevars)} of an enclosing function; "
                                  "a step's source runs alone in its pod: pass them as inputs")
    known = set(dir(builtins)) | {"ferry", fn.__name__} | set(extra_names)
    for name in sorted({n for n in _global_names(code) if n not in known}):
        raise CompileError(where, f"the function uses {name}, a name of its module; a step's source runs alone in its pod: "
                                  f"import it inside the function, or pass it as an input")
    lines = text.splitlines()
    return "\n".join(lines[node.lineno - 1:node.end_lineno]) + "\n"


def _global_names(code: types.CodeType) -> Iterator[str]:
    for ins in dis.get_instructions(code):
        if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME", "STORE_GLOBAL", "DELETE_GLOBAL"):
            yield str(ins.argval)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            yield from _global_names(c)


def manifest_command(s: StepFunction, source: str) -> list[str]:
    """The step's command: the runner, what it passes the function, and the function's source."""
    manifest = {
        "function": s.fn.__name__,
        "inputs": {n: k for n, k in s.params.items() if k != "output"},
        "outputs": [n for n, k in s.params.items() if k == "output"],
        "returns": [[n, k] for n, k in s.returns],
        "tuple": s.returns_tuple,  # the NamedTuple's name, which the runner defines with the returns as fields
    }
    return ["python3", "-m", RUNNER, json.dumps(manifest, separators=(",", ":"), sort_keys=True), source]


# --- the spec, as the server checks it ---------------------------------------------------


def check_pipeline(spec: PipelineSpec) -> None:
    """The checks of runtime/pipelines.Validate that a compiled spec can fail, naming the step and field."""
    if len(spec.parameters or []) > MAX_PARAMETERS:
        raise CompileError("pipeline", f"parameters: {len(spec.parameters or [])}, at most {MAX_PARAMETERS}")
    for p in spec.parameters or []:
        if not _IDENTIFIER.match(p.name) or len(p.name) > 64:
            raise CompileError("pipeline", f"parameter {p.name}: a letter or _ then letters, digits, _ or -, at most 64")
    if not spec.steps:
        raise CompileError("pipeline", "steps: a pipeline has at least one step (call a @ferry.step in it)")
    final = spec.finally_ or []
    if len(final) > MAX_FINALLY:
        raise CompileError("pipeline", f"finally: {len(final)} steps, at most {MAX_FINALLY}")
    if len(spec.steps) + len(final) > MAX_STEPS:
        raise CompileError("pipeline", f"steps: {len(spec.steps) + len(final)} in all, at most {MAX_STEPS}")
    is_final: dict[str, bool] = {}
    for s, fin in [*((x, False) for x in spec.steps), *((x, True) for x in final)]:
        if s.name in is_final:
            raise CompileError(f"step {s.name}", "name: used twice (rename one with .named(...))")
        is_final[s.name] = fin
    deps: dict[str, list[str]] = {}
    for s in [*spec.steps, *final]:
        _check_step(s)
        ups = list(s.depends_on or [])
        texts = [*(s.inputs.parameters or {}).values(), *(s.inputs.artifacts or {}).values()] if s.inputs else []
        texts += [s.when or "", s.parallel_for.items if s.parallel_for else ""]
        ups += [m.group(1) for t in texts for m in _STEP_REF.finditer(t)]
        for u in ups:
            if u not in is_final:
                raise CompileError(f"step {s.name}", f"dependsOn: unknown step {u}")
            if is_final[u]:
                raise CompileError(f"step {s.name}", f"uses finally step {u}: finally steps run together once the others ended")
        deps[s.name] = sorted(set(ups))
    cycle = _cycle(deps)
    if cycle:
        raise CompileError(f"step {cycle[0]}", "dependsOn: the steps " + " → ".join([*cycle, cycle[0]]) + " depend on each other in a cycle")
    size = len(json.dumps(spec.to_json(), separators=(",", ":")).encode())
    if size > MAX_SPEC_BYTES:
        raise CompileError("pipeline", f"the spec is {size} bytes, more than the limit of {MAX_SPEC_BYTES}")


def _check_step(s: Step) -> None:
    where = f"step {s.name}"
    check_name(where, "name", s.name)
    if not s.image or any(c.isspace() for c in s.image):
        raise CompileError(where, f"image {s.image!r}: not an image reference")
    if s.resources:
        for field, v, (lo, hi) in (("cpu", s.resources.cpu, CPU_BOUNDS), ("memory", s.resources.memory, MEMORY_BOUNDS)):
            if v is not None and not lo <= _quantity(v) <= hi:
                raise CompileError(where, f"resources.{field} {v!r}: a Kubernetes quantity between "
                                          f"{'1m and 1024' if field == 'cpu' else '1Mi and 16Ti'}")
        if s.resources.gpu is not None and not 0 <= s.resources.gpu <= MAX_GPU:
            raise CompileError(where, f"resources.gpu {s.resources.gpu}: between 0 and {MAX_GPU}")
    env = s.env or {}
    if len(env) > 256:
        raise CompileError(where, f"env: {len(env)} variables, at most 256")
    for k in env:
        if not _ENV_NAME.match(k) or len(k) > 256:
            raise CompileError(where, f"env.{k}: not an environment variable name")
        if k.upper().startswith(("FERRY_", "MLFLOW_")):
            raise CompileError(where, f"env.{k}: FERRY_* and MLFLOW_* are set by ferry")
    o = s.outputs
    for kind, names in (("artifacts", o.artifacts if o else None), ("parameters", o.parameters if o else None),
                        ("metrics", o.metrics if o else None)):
        if len(names or []) > 64:
            raise CompileError(where, f"outputs.{kind}: {len(names or [])}, at most 64")
        for n in names or []:
            if not _IDENTIFIER.match(n) or len(n) > 64 or n in ("parameters", "metrics"):
                raise CompileError(where, f"outputs.{kind} {n!r}: a letter or _ then letters, digits, _ or -, at most 64 "
                                          "(not parameters or metrics)")
    if s.retries is not None:
        r = s.retries
        if not 0 <= r.limit <= 20:
            raise CompileError(where, f"retries.limit {r.limit}: between 0 and 20")
        for f in r.on_failures or []:
            if f not in _RETRY_ON:
                raise CompileError(where, f"retries.onFailures {f!r}: one of error, oom, timeout, evicted")
        if r.backoff is not None:
            _duration(where, "retries.backoff.initial", r.backoff.initial)
            _duration(where, "retries.backoff.max", r.backoff.max)
            if r.backoff.factor and not 1 <= r.backoff.factor <= 10:
                raise CompileError(where, f"retries.backoff.factor {r.backoff.factor}: between 1 and 10")
    _duration(where, "timeout", s.timeout)
    _duration(where, "cacheMaxAge", s.cache_max_age)
    if s.parallel_for and s.parallel_for.parallelism is not None and not 0 <= s.parallel_for.parallelism <= MAX_PARALLEL_FOR:
        raise CompileError(where, f"parallelFor.parallelism {s.parallel_for.parallelism}: between 0 and {MAX_PARALLEL_FOR}")


def _duration(where: str, field: str, v: str | None) -> None:
    if v is not None and (not _DURATION.match(v) or not re.search(r"[1-9]", v)):
        raise CompileError(where, f"{field} {v!r}: a positive Go duration (30s, 10m, 2h)")


def _quantity(v: str) -> float:
    m = _QUANTITY.match(v)
    if not m:
        return math.nan
    suffix = m.group(2) or ""
    return float(m.group(1)) * (10.0 ** int(suffix[1:]) if suffix[:1] in ("e", "E") else _SUFFIX[suffix])


def _cycle(deps: dict[str, list[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        path.append(n)
        for d in deps.get(n, []):
            if state.get(d) == 1:
                return path[path.index(d):]
            if d not in state and (c := visit(d)) is not None:
                return c
        state[n] = 2
        path.pop()
        return None

    for n in deps:
        if n not in state and (c := visit(n)) is not None:
            return c
    return None


# --- YAML --------------------------------------------------------------------------------

_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./@:+-]*$")
_YAML_WORDS = {"y", "n", "yes", "no", "true", "false", "on", "off", "null", "~"}


#: the order of a spec's keys in its YAML (others after them, as they come)
_ORDER = {k: i for i, k in enumerate([
    "apiVersion", "kind", "name", "description", "type", "default", "parameters", "steps", "finally", "image", "command",
    "args", "env", "resources", "inputs", "outputs", "artifacts", "dependsOn", "parallelFor", "items", "when", "retries",
    "timeout", "cache", "cacheMaxAge"])}


def to_yaml(value: Any) -> str:
    """Block-style YAML of JSON data, as sigs.k8s.io/yaml (the server's reader) reads it back;
    multi-line strings (a step's source) are literal blocks."""
    return "\n".join(_node(value, 0)) + "\n"


def _ordered(d: dict[str, Any]) -> list[tuple[str, Any]]:
    return sorted(d.items(), key=lambda kv: _ORDER.get(kv[0], len(_ORDER)))


def _node(v: Any, ind: int) -> list[str]:
    pad = " " * ind
    out: list[str] = []
    if isinstance(v, dict):
        for k, x in _ordered(v):
            out += _entry(pad + _scalar(str(k)) + ":", x, ind)
    elif isinstance(v, list):
        for x in v:
            sub = _entry(pad + "-", x, ind, item=True)
            out += sub
    return out


def _entry(head: str, x: Any, ind: int, item: bool = False) -> list[str]:
    if isinstance(x, dict) and x:
        if item:  # "- key: value" with the mapping's keys at the column after "- "
            lines = _node(x, ind + 2)
            return [head + " " + lines[0].lstrip(), *lines[1:]]
        return [head, *_node(x, ind + 2)]
    if isinstance(x, list) and x:
        return [head, *_node(x, ind + 2)]
    if isinstance(x, str) and _literal_ok(x):
        chomp = "+" if x.endswith("\n\n") else ("" if x.endswith("\n") else "-")
        body = x[:-1] if x.endswith("\n") and chomp == "" else x
        lines = (body.rstrip("\n") if chomp == "+" else body).split("\n")
        pad = " " * (ind + 2)
        block = [pad + ln if ln else "" for ln in lines]
        if chomp == "+":
            block += [""] * (len(x) - len(x.rstrip("\n")) - 1)
        return [head + " |" + chomp, *block]
    return [head + " " + _scalar(x)]


def _literal_ok(s: str) -> bool:
    if "\n" not in s or s[:1] in (" ", "\t", "\n") or s.startswith("\n"):
        return False
    return all(c in "\n\t" or (c.isprintable() and c not in "\u2028\u2029\ufeff\x85") for c in s)


def _scalar(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return json.dumps(v)
    if isinstance(v, dict):
        return "{}" if not v else json.dumps(v)
    if isinstance(v, list):
        return "[]" if not v else json.dumps(v)
    s = str(v)
    if _PLAIN.match(s) and s.lower() not in _YAML_WORDS and ": " not in s and " #" not in s:
        return s
    if '"' in s and "'" not in s and s.isprintable() and s.strip() == s:
        return "'" + s + "'"  # reads better than escaping every quote
    return _quoted(s)


def _quoted(s: str) -> str:
    out = ['"']
    for c in s:
        if c in ('"', "\\"):
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029\ufeff":
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return "".join(out) + '"'
