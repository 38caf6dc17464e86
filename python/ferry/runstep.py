"""Runs a function step inside its pod: ``python3 -m ferry.runstep MANIFEST SOURCE``.

A step compiled by :mod:`ferry.dsl` has this command under ``ferry step --``
(cli/step.go). The wrapper has fetched the input artifacts to
``/ferry/inputs/<name>`` and written the input parameters to
``/ferry/inputs/parameters/<name>``; this runner executes the function's
source, calls it with those inputs decoded by its parameters' types, gives
its ``Output[Artifact]`` parameters the paths ``/ferry/outputs/<name>``, and
writes its return value(s) to ``/ferry/outputs/parameters/<name>``, which the
wrapper then reports. A bad input is exit code 2 with a message naming it;
an exception in the function is its traceback and exit code 1.
"""

from __future__ import annotations

import __future__
import collections
import json
import os
import sys
import traceback
import typing
from collections.abc import Callable
from typing import Any

from .artifacts import Artifact

__all__ = ["StepInputError", "decode", "encode", "main", "run"]

#: where the step wrapper puts inputs and takes outputs (api/v1 StepInputsDir, StepOutputsDir)
INPUTS_DIR = "/ferry/inputs"
OUTPUTS_DIR = "/ferry/outputs"


class StepInputError(ValueError):
    """An input the function's types cannot take, or outputs it did not return."""


def decode(kind: str, text: str) -> Any:
    """An input parameter's text as the value the function's parameter type wants."""
    if kind == "str":
        return text
    if kind == "bool":
        if text.strip() not in ("true", "false"):
            raise ValueError(f"{text!r} is not a bool (true or false)")
        return text.strip() == "true"
    if kind == "int":
        return int(text.strip())
    if kind == "float":
        return float(text.strip())
    if kind == "json":
        return json.loads(text)
    raise ValueError(f"unknown kind {kind}")


def encode(kind: str, value: Any) -> str:
    """An output parameter's value as the text the wrapper reports."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and kind == "str":
        return value
    return json.dumps(value)


def load(manifest: dict[str, Any], source: str) -> Callable[..., Any]:
    """Executes the step's source (annotations left unevaluated) and returns its function."""
    name = manifest["function"]
    code = compile(source, f"<ferry step {name}>", "exec", flags=__future__.annotations.compiler_flag, dont_inherit=True)
    import ferry

    ns: dict[str, Any] = {"__name__": "__ferry_step__", "ferry": ferry}
    if manifest.get("tuple"):  # the NamedTuple the function returns, by its name
        make = collections.namedtuple  # called by name: the type's name is data here
        ns[manifest["tuple"]] = make(manifest["tuple"], [n for n, _ in manifest.get("returns", [])])
    exec(code, ns)
    fn = ns.get(name)
    if not callable(fn):
        raise StepInputError(f"the step's source defines no function {name}")
    return typing.cast(Callable[..., Any], fn)


def run(manifest: dict[str, Any], source: str, *, inputs_dir: str | None = None, outputs_dir: str | None = None) -> None:
    """Calls the step's function with its inputs and writes its outputs (under INPUTS_DIR and OUTPUTS_DIR by default)."""
    inputs_dir = inputs_dir or INPUTS_DIR
    outputs_dir = outputs_dir or OUTPUTS_DIR
    fn = load(manifest, source)
    kwargs: dict[str, Any] = {}
    for name, kind in manifest.get("inputs", {}).items():
        if kind == "input":
            kwargs[name] = Artifact(name, os.path.join(inputs_dir, name))
            continue
        path = os.path.join(inputs_dir, "parameters", name)
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            continue  # not given: the function's default
        try:
            kwargs[name] = decode(kind, text)
        except ValueError as e:
            raise StepInputError(f"input {name}: {text[:200]!r} is not a {kind}: {e}") from None
    for name in manifest.get("outputs", []):
        os.makedirs(outputs_dir, exist_ok=True)
        kwargs[name] = Artifact(name, os.path.join(outputs_dir, name))
    result = fn(**kwargs)
    returns = manifest.get("returns", [])
    if not returns:
        return
    values = list(result) if manifest.get("tuple") else [result]
    if len(values) != len(returns):
        raise StepInputError(f"the function returned {len(values)} values for the outputs {[n for n, _ in returns]}")
    os.makedirs(os.path.join(outputs_dir, "parameters"), exist_ok=True)
    for (name, kind), v in zip(returns, values):
        if v is None:
            raise StepInputError(f"output {name}: the function returned None")
        with open(os.path.join(outputs_dir, "parameters", name), "w", encoding="utf-8") as f:
            f.write(encode(kind, v))


def main(argv: list[str] | None = None) -> int:
    """The command line: ``python3 -m ferry.runstep MANIFEST SOURCE``; the exit code."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python3 -m ferry.runstep MANIFEST SOURCE (the command ferry.dsl compiles a step to)", file=sys.stderr)
        return 2
    manifest: dict[str, Any] = {}
    try:
        manifest = json.loads(args[0])
        run(manifest, args[1])
    except StepInputError as e:
        print(f"ferry step {manifest.get('function', '?')}: {e}", file=sys.stderr)
        return 2
    except Exception:
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
