"""Pipelines as Python: ``@ferry.step`` turns a typed function into a step, ``@ferry.pipeline`` composes them.

    import ferry
    from ferry import Artifact, Input, Output

    @ferry.step(image="ferry.local/workload:1", memory="1Gi")
    def prepare(rows: int, data: Output[Artifact]) -> None:
        with open(data.path, "w") as f:
            f.write("\\n".join(str(i) for i in range(rows)))

    @ferry.step(image="ferry.local/workload:1", retries=2)
    def train(data: Input[Artifact], c: float) -> float:
        return c * len(open(data.path).read().split())

    @ferry.pipeline(name="digits")
    def digits(cs: list = [0.1, 1.0], rows: int = 100) -> None:
        p = prepare(rows=rows)
        with ferry.fan_out(cs, parallelism=2) as c:
            train(data=p.outputs["data"], c=c)

    digits.compile("digits.yaml")                 # the YAML the API takes
    client.pipelines.run(digits, {"rows": 1000})  # or submit it

A step's parameters are its inputs: values (str, int, float, bool, list,
dict) and ``Input[Artifact]`` files from upstream steps; its
``Output[Artifact]`` parameters are files it writes, and its return value is
the output parameter ``output`` (a NamedTuple: one output per field). In
the pod, ``ferry step`` fetches the inputs and ``python3 -m ferry.runstep``
runs the function's own source with them (see :mod:`ferry.runstep`), so a
step function is self-contained: it imports what it uses inside its body.

Mistakes (a cycle, an unknown or missing input, a bad name, a bound
exceeded, an artifact wired to a value) raise :class:`CompileError`, naming
the step and field, before anything is sent. While a pipeline function runs
to build its spec, the builder is held in a context variable: the DSL's only
state.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable, Iterator
from typing import Any

from .artifacts import Artifact, Input, Output
from .compiler import (
    CompileError, check_name, check_pipeline, encode_value, function_source, kind_of, manifest_command, param_type, to_yaml,
)
from .pipelines import ParallelFor, PipelineParam, PipelineSpec, RetryPolicy, Step, StepInputs, StepOutputs
from .models import Resources

__all__ = [
    "Artifact", "CompileError", "Condition", "Input", "Output", "PipelineFunction", "Ref", "StepFunction", "Task",
    "condition", "fan_out", "finally_steps", "pipeline", "step",
]

# --- references: values known when the pipeline runs ---------------------------------


class Ref:
    """A value known only when the pipeline runs: a pipeline parameter, a step's output, a fan-out's item.

    Comparing one with a literal (``p.output > 0.9``) makes a :class:`Condition` for :func:`condition`.
    """

    #: the value's kind (str, int, float, bool, json) when known
    kind: str | None = None

    def render(self) -> str:
        """The reference as the spec writes it, e.g. ``{{params.rows}}``."""
        raise NotImplementedError

    def _cmp(self, op: str, other: object) -> Condition:
        return Condition(self, op, other)

    def __eq__(self, other: object) -> Condition:  # type: ignore[override]
        return self._cmp("==", other)

    def __ne__(self, other: object) -> Condition:  # type: ignore[override]
        return self._cmp("!=", other)

    def __lt__(self, other: object) -> Condition:
        return self._cmp("<", other)

    def __le__(self, other: object) -> Condition:
        return self._cmp("<=", other)

    def __gt__(self, other: object) -> Condition:
        return self._cmp(">", other)

    def __ge__(self, other: object) -> Condition:
        return self._cmp(">=", other)

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        raise TypeError(f"{self.render()} has no value while the pipeline is being defined; use ferry.condition({self.render()} == ...)")

    def __repr__(self) -> str:
        return self.render()


class ParamRef(Ref):
    """A pipeline parameter."""

    def __init__(self, name: str, kind: str | None) -> None:
        self.name, self.kind = name, kind

    def render(self) -> str:
        return "{{params.%s}}" % self.name


class OutputRef(Ref):
    """An output (parameter or artifact) of a task."""

    def __init__(self, task: Task, name: str, kind: str) -> None:
        self.task, self.name = task, name
        self.artifact = kind == "artifact"
        # a fanned-out step's output parameter is the JSON list of its items' values
        self.kind = None if self.artifact else ("json" if task.fan_out else kind)

    def render(self) -> str:
        return "{{steps.%s.outputs.%s.%s}}" % (self.task.name, "artifacts" if self.artifact else "parameters", self.name)


class ItemRef(Ref):
    """The item of a fan-out (``{{item}}``)."""

    def __init__(self, fan: _FanOut) -> None:
        self.fan = fan

    def render(self) -> str:
        return "{{item}}"


@dataclasses.dataclass
class Condition:
    """``{{ref}} OP value``: the steps made inside ``with ferry.condition(...)`` run only when it holds."""

    ref: Ref
    op: str
    value: object

    def render(self) -> str:
        """The condition as the spec's ``when`` expression, e.g. ``{{steps.train.outputs.parameters.score}} > 0.9``."""
        if isinstance(self.value, (Ref, Condition)):
            raise CompileError("condition", f"{self.ref.render()} {self.op} {self.value!r}: the right side must be a literal")
        return f"{self.ref.render()} {self.op} {encode_value(self.value)}"

    def __bool__(self) -> bool:
        raise TypeError(f"{self.ref.render()} {self.op} ... is decided when the pipeline runs: use `with ferry.condition(...)`")


@dataclasses.dataclass
class _FanOut:
    items: Ref
    parallelism: int


# --- steps -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _StepOptions:
    image: str | None = None
    cpu: str | None = None
    memory: str | None = None
    gpu: int | None = None
    env: tuple[tuple[str, str], ...] = ()
    retries: int | RetryPolicy | None = None
    timeout: str | None = None
    cache: bool | None = None
    cache_max_age: str | None = None
    metrics: tuple[str, ...] = ()


class StepFunction:
    """A function made a step by :func:`step`. Called inside a pipeline function it adds a :class:`Task`;
    called anywhere else it is the plain function."""

    def __init__(self, fn: Callable[..., Any], name: str | None, options: _StepOptions) -> None:
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.name = name or fn.__name__.replace("_", "-")
        self.options = options
        check_name("step " + self.name, "name", self.name)
        hints = typing.get_type_hints(fn)
        self.signature = inspect.signature(fn)
        #: input or output artifact name -> kind (str, int, float, bool, json, input, output)
        self.params: dict[str, str] = {}
        for p in self.signature.parameters.values():
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise CompileError(f"step {self.name}", f"parameter {p.name}: a step takes named parameters, not *args or **kwargs")
            if p.name in ("item", "parameters", "metrics"):
                raise CompileError(f"step {self.name}", f"parameter {p.name}: the name is reserved by ferry's step contract")
            self.params[p.name] = kind_of(f"step {self.name}", f"parameter {p.name}", hints.get(p.name, str), artifacts=True)
        #: output parameters (return values) as (name, kind)
        self.returns: list[tuple[str, str]] = []
        #: the name of the NamedTuple the function returns ("": a single value)
        self.returns_tuple = ""
        ret = hints.get("return", type(None))
        if ret is not type(None):
            fields = typing.get_type_hints(ret) if isinstance(ret, type) and issubclass(ret, tuple) and hasattr(ret, "_fields") else None
            if fields is not None:
                self.returns_tuple = ret.__name__
                self.returns = [(f, kind_of(f"step {self.name}", f"output {f}", t)) for f, t in fields.items()]
            else:
                self.returns = [("output", kind_of(f"step {self.name}", "output", ret))]
        outs = [n for n, k in self.params.items() if k == "output"] + [n for n, _ in self.returns]
        dup = {n for n in outs if outs.count(n) > 1}
        if dup:
            raise CompileError(f"step {self.name}", f"outputs {sorted(dup)} are named twice")
        self._source: str | None = None

    def source(self) -> str:
        """The function's own source, decorators left out, after checking that it stands alone."""
        if self._source is None:
            self._source = function_source(f"step {self.name}", self.fn, (self.returns_tuple,) if self.returns_tuple else ())
        return self._source

    def with_options(self, **options: Any) -> StepFunction:
        """A copy with some of :func:`step`'s options changed (``name=``, ``memory=``...)."""
        name = options.pop("name", self.name)
        opts = dataclasses.replace(self.options, **_options(**options))
        return StepFunction(self.fn, name, opts)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        b = _BUILDER.get()
        if b is None:
            return self.fn(*args, **kwargs)
        return b.add(self, args, kwargs)

    def __repr__(self) -> str:
        return f"<ferry step {self.name}>"


def _options(**o: Any) -> dict[str, Any]:
    if "env" in o:
        o["env"] = tuple(sorted((o["env"] or {}).items()))
    if "metrics" in o:
        o["metrics"] = tuple(o["metrics"] or ())
    return o


def step(fn: Callable[..., Any] | None = None, *, name: str | None = None, image: str | None = None,
         cpu: str | None = None, memory: str | None = None, gpu: int | None = None,
         env: dict[str, str] | None = None, retries: int | RetryPolicy | None = None, timeout: str | None = None,
         cache: bool | None = None, cache_max_age: str | None = None, metrics: list[str] | None = None) -> Any:
    """Makes a typed function a pipeline step (``@ferry.step`` or ``@ferry.step(image=..., cpu=...)``).

    ``image`` (default the pipeline's) must have Python 3.11+ and the ferry
    SDK (the workload image has both); ``cpu``/``memory`` are Kubernetes
    quantities and ``gpu`` a count; ``retries`` a limit or a
    :class:`ferry.RetryPolicy`; ``timeout`` and ``cache_max_age`` Go
    durations (``30m``); ``cache=False`` always runs it; ``metrics`` names
    the metrics it logs (with :func:`ferry.log_metric`). ``name`` defaults
    to the function's, ``_`` made ``-``.
    """
    opts = _StepOptions(**_options(image=image, cpu=cpu, memory=memory, gpu=gpu, env=env, retries=retries, timeout=timeout,
                                   cache=cache, cache_max_age=cache_max_age, metrics=metrics))

    def wrap(f: Callable[..., Any]) -> StepFunction:
        return StepFunction(f, name, opts)

    return wrap(fn) if fn is not None else wrap


class Task:
    """One use of a step in a pipeline: its inputs, and references to its outputs."""

    def __init__(self, step: StepFunction, name: str, inputs: dict[str, Any], fan: _FanOut | None,
                 when: Condition | None, final: bool) -> None:
        self.step, self.name, self.inputs = step, name, inputs
        self.fan_out, self.when, self.final = fan, when, final
        self.depends_on: list[Task] = []
        kinds = {n: "artifact" for n, k in step.params.items() if k == "output"}
        kinds.update(dict(step.returns))
        #: every output by name, as a reference to pass to later steps
        self.outputs: dict[str, OutputRef] = {n: OutputRef(self, n, k) for n, k in kinds.items()}

    @property
    def output(self) -> OutputRef:
        """The step's return value (the output parameter ``output``)."""
        if "output" not in self.outputs:
            raise CompileError(f"step {self.name}", "has no single return value (output); its outputs: " + (", ".join(self.outputs) or "none"))
        return self.outputs["output"]

    def after(self, *tasks: Task) -> Task:
        """Runs this task after others, beyond what its inputs imply."""
        self.depends_on.extend(tasks)
        return self

    def named(self, name: str) -> Task:
        """Renames the task (its step's name in the spec)."""
        check_name(f"step {self.name}", "name", name)
        self.name = name
        return self

    def __repr__(self) -> str:
        return f"<ferry task {self.name}>"


# --- pipelines ---------------------------------------------------------------------------


class _Builder:
    def __init__(self, pipeline: PipelineFunction) -> None:
        self.pipeline = pipeline
        self.tasks: list[Task] = []
        self.fan: _FanOut | None = None
        self.when: Condition | None = None
        self.final = False

    def add(self, s: StepFunction, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Task:
        used = {t.name for t in self.tasks}
        name, n = s.name, 2
        while name in used:
            name, n = f"{s.name}-{n}", n + 1
        where = f"step {name}"
        try:
            bound = s.signature.bind_partial(*args, **kwargs)
        except TypeError as e:
            raise CompileError(where, f"{e} (its inputs: {', '.join(n for n, k in s.params.items() if k != 'output')})") from None
        inputs: dict[str, Any] = {}
        for pname, kind in s.params.items():
            if kind == "output":
                if pname in bound.arguments:
                    raise CompileError(where, f"input {pname}: it is an Output[Artifact] the step writes; pass nothing for it")
                continue
            if pname in bound.arguments:
                inputs[pname] = bound.arguments[pname]
            elif s.signature.parameters[pname].default is inspect.Parameter.empty:
                raise CompileError(where, f"input {pname}: no value given (the function has no default for it)")
            elif s.signature.parameters[pname].default is not None:
                inputs[pname] = s.signature.parameters[pname].default
        t = Task(s, name, inputs, self.fan, self.when, self.final)
        self.tasks.append(t)
        return t


_BUILDER: contextvars.ContextVar[_Builder | None] = contextvars.ContextVar("ferry_pipeline_builder", default=None)


def _builder(what: str) -> _Builder:
    b = _BUILDER.get()
    if b is None:
        raise CompileError(what, "is only for use inside a @ferry.pipeline function")
    return b


@contextlib.contextmanager
def fan_out(items: Ref, parallelism: int = 0) -> Iterator[Ref]:
    """Fans the steps made inside out over a list (a pipeline list parameter or an upstream output
    parameter holding a JSON list), at most ``parallelism`` at once (0: no limit); yields the item."""
    b = _builder("ferry.fan_out")
    if b.fan is not None:
        raise CompileError("ferry.fan_out", "fan-outs do not nest: a step fans out over one list")
    if not isinstance(items, (ParamRef, OutputRef)) or (isinstance(items, OutputRef) and items.artifact):
        raise CompileError("ferry.fan_out", f"items {items!r}: fan out over a pipeline list parameter or an upstream step's output parameter")
    if isinstance(items, ParamRef) and items.kind != "json":
        raise CompileError("ferry.fan_out", f"items {items.render()}: pipeline parameter {items.name} is not a list")
    b.fan = _FanOut(items, parallelism)
    try:
        yield ItemRef(b.fan)
    finally:
        b.fan = None


@contextlib.contextmanager
def condition(cond: Condition) -> Iterator[None]:
    """Runs the steps made inside only when ``cond`` (``ref OP literal``) holds; otherwise they are skipped."""
    b = _builder("ferry.condition")
    if not isinstance(cond, Condition):
        raise CompileError("ferry.condition", f"{cond!r} is not a condition: compare a reference, e.g. train.output > 0.9")
    if b.when is not None:
        raise CompileError("ferry.condition", "conditions do not nest: a step has one condition")
    b.when = cond
    try:
        yield
    finally:
        b.when = None


@contextlib.contextmanager
def finally_steps() -> Iterator[None]:
    """The steps made inside are exit steps: they run once every other step has ended, whatever its state."""
    b = _builder("ferry.finally_steps")
    b.final = True
    try:
        yield
    finally:
        b.final = False


class PipelineFunction:
    """A function made a pipeline by :func:`pipeline`: :meth:`spec` builds it, :meth:`compile` writes its YAML."""

    def __init__(self, fn: Callable[..., Any], name: str | None, description: str | None, image: str | None) -> None:
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.name = name or fn.__name__.replace("_", "-")
        doc = inspect.getdoc(fn) or ""
        self.description = description if description is not None else doc.split("\n\n", 1)[0].strip()
        self.image = image
        check_name("pipeline " + self.name, "name", self.name, max_len=52)
        hints = typing.get_type_hints(fn)
        self.parameters: list[PipelineParam] = []
        for p in inspect.signature(fn).parameters.values():
            default = None if p.default is inspect.Parameter.empty else p.default
            t = param_type(f"pipeline {self.name}", f"parameter {p.name}", hints.get(p.name), default)
            if isinstance(default, tuple):
                default = list(default)
            self.parameters.append(PipelineParam(name=p.name, type=t, default=default))

    def spec(self) -> PipelineSpec:
        """Runs the pipeline function to build the spec, and checks it as the server would."""
        b = _Builder(self)
        token = _BUILDER.set(b)
        try:
            refs = {p.name: ParamRef(p.name, _REF_KINDS.get(p.type or "string")) for p in self.parameters}
            self.fn(**refs)
        finally:
            _BUILDER.reset(token)
        steps: list[Step] = []
        final: list[Step] = []
        for t in b.tasks:
            (final if t.final else steps).append(self._step(t))
        spec = PipelineSpec(api_version="ferry.dev/v1", kind="Pipeline", description=self.description or None,
                            parameters=self.parameters or None, steps=steps, finally_=final or None)
        check_pipeline(spec)
        return spec

    def _step(self, t: Task) -> Step:
        s, where = t.step, f"step {t.name}"
        o = s.options
        image = o.image or self.image
        if not image:
            raise CompileError(where, "image: none given: @ferry.step(image=...) or @ferry.pipeline(image=...)")
        params: dict[str, str] = {}
        artifacts: dict[str, str] = {}
        for name, value in t.inputs.items():
            kind = s.params[name]
            if kind == "input":
                if not isinstance(value, OutputRef) or not value.artifact:
                    raise CompileError(where, f"input {name}: an Input[Artifact] takes an upstream step's output artifact, not {value!r}")
                if value.task.fan_out:
                    raise CompileError(where, f"input {name}: step {value.task.name} fans out: its artifacts are per item and cannot be one input")
                artifacts[name] = value.render()
                continue
            if isinstance(value, OutputRef) and value.artifact:
                raise CompileError(where, f"input {name}: {value.render()} is an artifact, and {name} a {kind} value: take it as Input[Artifact]")
            if isinstance(value, Ref):
                if value.kind and not _compatible(value.kind, kind):
                    raise CompileError(where, f"input {name}: {value.render()} is a {value.kind} value, the function takes {kind}")
                if isinstance(value, ItemRef) and value.fan is not t.fan_out:
                    raise CompileError(where, f"input {name}: {{{{item}}}} is defined only inside its ferry.fan_out")
                params[name] = value.render()
            else:
                params[name] = encode_value(value, kind=kind, where=where, what=f"input {name}")
        deps = [d.name for d in t.depends_on]
        retries = RetryPolicy(limit=o.retries) if isinstance(o.retries, int) and not isinstance(o.retries, bool) else o.retries
        resources = Resources(cpu=o.cpu, memory=o.memory, gpu=o.gpu) if (o.cpu or o.memory or o.gpu is not None) else None
        outs = StepOutputs(artifacts=[n for n, k in s.params.items() if k == "output"] or None,
                           parameters=[n for n, _ in s.returns] or None, metrics=list(o.metrics) or None)
        return Step(
            name=t.name, image=image, command=manifest_command(s, s.source()), env=dict(o.env) or None, resources=resources,
            inputs=StepInputs(parameters=params or None, artifacts=artifacts or None) if (params or artifacts) else None,
            outputs=outs if (outs.artifacts or outs.parameters or outs.metrics) else None,
            depends_on=sorted(set(deps)) or None, retries=retries if isinstance(retries, RetryPolicy) else None,
            timeout=o.timeout, cache=o.cache, cache_max_age=o.cache_max_age,
            parallel_for=ParallelFor(items=t.fan_out.items.render(), parallelism=t.fan_out.parallelism or None) if t.fan_out is not None else None,
            when=t.when.render() if t.when is not None else None,
        )

    def compile(self, path: str | None = None) -> str:
        """The spec as the YAML the API takes; written to ``path`` too when given."""
        text = to_yaml(self.spec().to_json())
        if path is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        return text

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"pipeline {self.name} runs on a ferry server: client.pipelines.run({self.fn.__name__}, params)")

    def __repr__(self) -> str:
        return f"<ferry pipeline {self.name}>"


_REF_KINDS = {"string": "str", "int": "int", "float": "float", "bool": "bool", "list": "json"}


def _compatible(src: str, dst: str) -> bool:
    return dst == "str" or src == dst or (src == "int" and dst == "float")


def pipeline(fn: Callable[..., Any] | None = None, *, name: str | None = None, description: str | None = None,
             image: str | None = None) -> Any:
    """Makes a function that calls steps a pipeline (``@ferry.pipeline`` or ``@ferry.pipeline(name=...)``).

    Its parameters are the pipeline's (typed str, int, float, bool or list;
    a default makes one optional); ``image`` is the default of its steps;
    ``description`` defaults to the docstring's first paragraph.
    """
    def wrap(f: Callable[..., Any]) -> PipelineFunction:
        return PipelineFunction(f, name, description, image)

    return wrap(fn) if fn is not None else wrap
