"""A tuning trial: an RBF support-vector classifier on scikit-learn's digits.

Reads C and gamma from its arguments (a ferry tuning substitutes them into
the trial template: --C=${params.C} --gamma=${params.gamma}), trains on a
growing share of the training set, one share per step, and logs the test
accuracy of each step as the metric `accuracy` (step 0, 1, ...), so that
the median stopping rule can compare trials step by step. The last step
trains on all of it; its model is uploaded to the run as model/model.joblib,
which `ferry tune best --register-as NAME` registers. --step-seconds waits
between steps (a trial long enough for the controller to see it running).

Tracking goes through ferry's MLflow REST API with the run-scoped token of
the job, as in sklearn_train.py (whose Tracking class it uses).
"""
import argparse
import os
import sys
import tempfile
import time

import joblib
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sklearn_train import Tracking  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--C", type=float, required=True, help="the SVM's regularisation")
    ap.add_argument("--gamma", type=float, required=True, help="the RBF kernel's width")
    ap.add_argument("--steps", type=int, default=6, help="training-set shares, the last one all of it")
    ap.add_argument("--step-seconds", type=float, default=0.0)
    args = ap.parse_args()
    tracking = Tracking() if os.environ.get("MLFLOW_RUN_ID") else None
    x, y = load_digits(return_X_y=True)
    x = x / 16.0
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=0)
    if tracking:
        tracking.log_batch(params=[("C", args.C), ("gamma", args.gamma), ("steps", args.steps)])
    model = None
    for step in range(args.steps):
        n = max(20, len(x_train) * (step + 1) // args.steps)
        model = SVC(C=args.C, gamma=args.gamma).fit(x_train[:n], y_train[:n])
        acc = float(model.score(x_test, y_test))
        print(f"step {step} train={n} accuracy={acc:.4f}", flush=True)
        if tracking:
            tracking.log_batch(metrics=[("accuracy", acc, step)])
        if step < args.steps - 1:
            time.sleep(args.step_seconds)
    if tracking:
        with tempfile.TemporaryDirectory() as d:
            local = os.path.join(d, "model.joblib")
            joblib.dump(model, local)
            digest = tracking.upload(local, "model/model.joblib")
            print(f"model uploaded: model/model.joblib sha256={digest}", flush=True)


if __name__ == "__main__":
    main()
