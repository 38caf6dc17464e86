"""The pipeline of the pipelines issue written with the DSL (its golden spec is testdata/digits.yaml)."""

from __future__ import annotations

from typing import NamedTuple

import ferry
from ferry import Artifact, Input, Output

IMAGE = "ferry.local/workload:1"


@ferry.step(image=IMAGE, memory="1Gi", cache_max_age="24h")
def prepare(rows: int, data: Output[Artifact]) -> int:
    """Writes the data set: one number a line."""
    with open(data.path, "w") as f:
        f.write("\n".join(str(i) for i in range(rows)) + "\n")
    return rows


class Scores(NamedTuple):
    score: float
    n: int


@ferry.step(image=IMAGE, cpu="500m", retries=ferry.RetryPolicy(limit=2, on_failures=["error", "oom"]),
            timeout="30m", metrics=["accuracy"])
def train(data: Input[Artifact], c: float, model: Output[Artifact], tags: dict = {"kind": "svm"}) -> Scores:
    """Fits one C; the score grows with C and the data."""
    import json

    with open(data.path) as f:
        n = len(f.read().split())
    with open(model.path, "w") as f:
        json.dump({"c": c, "n": n, **tags}, f)
    return Scores(score=c * n, n=n)


@ferry.step(image=IMAGE)
def best(scores: list, threshold: float = 0.5) -> bool:
    return max(scores) > threshold


@ferry.step(image=IMAGE, cache=False, env={"LEVEL": "info"})
def report(message: str, good: bool = True) -> None:
    print(message, "good" if good else "bad")


@ferry.pipeline(name="digits")
def digits(cs: list = [0.1, 1.0], rows: int = 100, note: str = "nightly") -> None:
    """Prepares the data once, trains one model per C, reports the best."""
    p = prepare(rows=rows)
    with ferry.fan_out(cs, parallelism=2) as c:
        t = train(data=p.outputs["data"], c=c)
    b = best(scores=t.outputs["score"])
    with ferry.condition(b.output == True):  # noqa: E712  (a condition, not a comparison)
        report(message=note)
    with ferry.finally_steps():
        report(message="done", good=False)
