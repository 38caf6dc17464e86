"""The pipelines issue's pipeline written with ferry's Python DSL, run on the e2e cluster.

e2e/pipelines_test.go runs ``python3 e2e/dsl_digits.py MODEL [C ...]`` with
the SDK on PYTHONPATH, the cluster's CLI config in FERRY_CONFIG, the tenant
in FERRY_TENANT and the workload image in FERRY_E2E_IMAGE. The pipeline
prepares the digits data set, trains a logistic regression over a fan-out
of the given C values (logging each accuracy as a metric), and a last step
picks the best and registers it as a version of MODEL with the step's own
credentials. The script submits it twice with the same parameters, waits
for each run, and prints one JSON line: the two runs as the API returned
them, and the compiled YAML. The Go test checks what the cluster did.
"""

from __future__ import annotations

import json
import os
import sys
import time

import ferry
from ferry import Artifact, Input, Output

IMAGE = os.environ.get("FERRY_E2E_IMAGE", "ferry.local/workload:1")


@ferry.step(image=IMAGE, cpu="250m", memory="384Mi")
def prepare(data: Output[Artifact]) -> int:
    """Writes scikit-learn's digits as one .npz file; returns the number of samples."""
    import numpy as np
    from sklearn.datasets import load_digits

    d = load_digits()
    with open(data.path, "wb") as f:
        np.savez(f, x=d.data, y=d.target)
    print("prepared", len(d.target))
    return len(d.target)


@ferry.step(image=IMAGE, cpu="250m", memory="384Mi", metrics=["accuracy"])
def train(data: Input[Artifact], c: float) -> float:
    """Fits a logistic regression with C=c; logs and returns its held-out accuracy."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    import ferry

    d = np.load(data.path)
    xt, xv, yt, yv = train_test_split(d["x"], d["y"], random_state=0)
    s = float(LogisticRegression(C=c, max_iter=2000).fit(xt, yt).score(xv, yv))
    ferry.log_param("C", c)
    ferry.log_metric("accuracy", s)
    print("C", c, "accuracy", s)
    return s


@ferry.step(image=IMAGE, cpu="250m", memory="256Mi")
def pick(scores: list, cs: list, model: str) -> int:
    """Registers the best C (by accuracy) as a new version of model; returns the version."""
    import json

    import ferry

    accuracies = [float(s) for s in scores]
    best = max(range(len(accuracies)), key=lambda i: accuracies[i])
    with open("/tmp/best.json", "w") as f:
        json.dump({"C": cs[best], "accuracy": accuracies[best]}, f)
    ferry.log_artifact("/tmp/best.json", "model/best.json")
    version = ferry.register_model(model, "model")
    print("best C", cs[best], "accuracy", accuracies[best], "registered version", version)
    return version


@ferry.pipeline(name="digits-dsl")
def digits_dsl(model: str, cs: list = [0.01, 0.1, 1.0]) -> None:
    """Prepares digits, trains one model per C, registers the best."""
    data = prepare()
    with ferry.fan_out(cs, parallelism=3) as c:
        scores = train(data=data.outputs["data"], c=c)
    pick(scores=scores.output, cs=cs, model=model)


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: dsl_digits.py MODEL [C ...]", file=sys.stderr)
        return 2
    params: dict[str, object] = {"model": argv[1]}
    if len(argv) > 2:
        params["cs"] = [float(c) for c in argv[2:]]
    client = ferry.Client()
    runs = []
    for _ in range(2):
        start = time.monotonic()
        run = client.pipelines.wait(client.run(digits_dsl, params), timeout=600, interval=0.5)
        runs.append({"run": run.to_json(), "seconds": round(time.monotonic() - start, 1)})
    print(json.dumps({"runs": runs, "yaml": digits_dsl.compile()}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
