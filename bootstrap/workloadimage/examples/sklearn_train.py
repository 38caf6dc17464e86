"""Train a classifier on scikit-learn's bundled digits data set (no download).

Prints one line per step and the test accuracy; exits non-zero below
--min-accuracy, so a job fails when the model does.

Run as a ferry job, it is tracked: ferry sets MLFLOW_TRACKING_URI,
MLFLOW_RUN_ID, MLFLOW_EXPERIMENT_ID and a MLFLOW_TRACKING_TOKEN that may
write only to this run. The script then logs its parameters, the accuracy
of each cross-validation fold (as steps of one metric), the test accuracy
and the fitted model (joblib) through ferry's MLflow REST API, with nothing
but the standard library, and with --register-as NAME registers the model
as a new version of NAME. Outside a job (no MLFLOW_RUN_ID) it only trains.
"""
import argparse
import hashlib
import json
import os
import tempfile
import time
import urllib.error
import urllib.request

import joblib
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score, train_test_split


class Tracking:
    """The few MLflow REST calls a tracked run needs (service.proto)."""

    def __init__(self):
        self.uri = os.environ["MLFLOW_TRACKING_URI"].rstrip("/")
        self.token = os.environ.get("MLFLOW_TRACKING_TOKEN", "")
        self.run = os.environ["MLFLOW_RUN_ID"]
        self.experiment = os.environ.get("MLFLOW_EXPERIMENT_ID", "0")

    def _send(self, method, path, body=None, data=None, headers=None):
        hdrs = {"Authorization": "Bearer " + self.token}
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        req = urllib.request.Request(self.uri + path, data=data, method=method, headers=hdrs)
        for attempt in range(5):
            try:
                with urllib.request.urlopen(req, timeout=30) as resp:
                    raw = resp.read()
                    return json.loads(raw) if raw else {}
            except urllib.error.HTTPError as e:
                detail = e.read().decode(errors="replace")
                if e.code < 500:
                    raise RuntimeError(f"{method} {path}: {e.code} {detail}") from None
                err = f"{e.code} {detail}"
            except OSError as e:  # the control plane restarting
                err = str(e)
            time.sleep(2 ** attempt)
        raise RuntimeError(f"{method} {path}: {err}")

    def call(self, path, body):
        return self._send("POST", "/api/2.0/mlflow/" + path, body=body)

    def log_batch(self, params=(), metrics=()):
        now = int(time.time() * 1000)
        self.call("runs/log-batch", {
            "run_id": self.run,
            "params": [{"key": k, "value": str(v)} for k, v in params],
            "metrics": [{"key": k, "value": v, "step": s, "timestamp": now} for k, v, s in metrics],
        })

    def upload(self, local, rel):
        with open(local, "rb") as f:
            data = f.read()
        digest = hashlib.sha256(data).hexdigest()
        path = f"/api/2.0/mlflow-artifacts/artifacts/{self.experiment}/{self.run}/artifacts/{rel}"
        self._send("PUT", path, data=data, headers={"X-Ferry-Sha256": digest, "Content-Type": "application/octet-stream"})
        return digest

    def register(self, name, artifact_dir):
        try:
            self.call("registered-models/create", {"name": name})
        except RuntimeError as e:
            if "RESOURCE_ALREADY_EXISTS" not in str(e):
                raise
        source = f"mlflow-artifacts:/{self.experiment}/{self.run}/artifacts/{artifact_dir}"
        v = self.call("model-versions/create", {"name": name, "source": source, "run_id": self.run})
        return v["model_version"]["version"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-iter", type=int, default=200)
    ap.add_argument("--c", type=float, default=1.0, help="inverse regularisation strength")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--min-accuracy", type=float, default=0.9)
    ap.add_argument("--register-as", default="", help="register the model as a version of this name")
    args = ap.parse_args()
    tracking = Tracking() if os.environ.get("MLFLOW_RUN_ID") else None
    start = time.time()
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=0)
    print(f"loaded digits: {len(x_train)} train, {len(x_test)} test", flush=True)
    if tracking:
        tracking.log_batch(params=[("max_iter", args.max_iter), ("C", args.c), ("folds", args.folds), ("test_size", 0.25)])
    model = LogisticRegression(max_iter=args.max_iter, C=args.c)
    folds = cross_val_score(model, x_train / 16.0, y_train, cv=args.folds)
    for i, a in enumerate(folds):
        print(f"fold {i} accuracy={a:.4f}", flush=True)
    if tracking:
        tracking.log_batch(metrics=[("cv_accuracy", float(a), i) for i, a in enumerate(folds)])
    model.fit(x_train / 16.0, y_train)
    acc = model.score(x_test / 16.0, y_test)
    print(f"accuracy={acc:.4f} seconds={time.time() - start:.2f}", flush=True)
    if tracking:
        tracking.log_batch(metrics=[("accuracy", float(acc), 0)])
        with tempfile.TemporaryDirectory() as d:
            local = os.path.join(d, "model.joblib")
            joblib.dump(model, local)
            digest = tracking.upload(local, "model/model.joblib")
            print(f"model uploaded: model/model.joblib sha256={digest}", flush=True)
        if args.register_as and acc >= args.min_accuracy:
            version = tracking.register(args.register_as, "model")
            print(f"registered {args.register_as} version {version}", flush=True)
    if acc < args.min_accuracy:
        raise SystemExit(f"accuracy {acc:.4f} below {args.min_accuracy}")


if __name__ == "__main__":
    main()
