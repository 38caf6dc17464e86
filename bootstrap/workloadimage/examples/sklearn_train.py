"""Train a classifier on scikit-learn's bundled digits data set (no download).

Prints one line per step and the test accuracy; exits non-zero below
--min-accuracy, so a job fails when the model does.
"""
import argparse
import time

from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-iter", type=int, default=200)
    ap.add_argument("--min-accuracy", type=float, default=0.9)
    args = ap.parse_args()
    start = time.time()
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=0)
    print(f"loaded digits: {len(x_train)} train, {len(x_test)} test", flush=True)
    model = LogisticRegression(max_iter=args.max_iter)
    model.fit(x_train / 16.0, y_train)
    acc = model.score(x_test / 16.0, y_test)
    print(f"accuracy={acc:.4f} seconds={time.time() - start:.2f}", flush=True)
    if acc < args.min_accuracy:
        raise SystemExit(f"accuracy {acc:.4f} below {args.min_accuracy}")


if __name__ == "__main__":
    main()
