"""Train: cross-validate, fit, evaluate on a hold-out split, save metrics, plots and the model.

python -m <package>.train --config configs/train.yaml [--data-path X] [--output-dir Y]
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.model_selection import (
    RepeatedKFold,
    RepeatedStratifiedKFold,
    cross_validate,
    train_test_split,
)
from sklearn.preprocessing import LabelEncoder

from . import evaluate
from .config import ConfigError, TrainConfig, load_config
from .data import DataError, feature_columns, load_table, make_sample, split_target
from .pipeline import build_pipeline

log = logging.getLogger(__name__)
SAMPLE_PATH = "data/sample.csv"


def train(config: TrainConfig) -> dict[str, Any]:
    """Run one training; returns the metrics written to <output_dir>/metrics.json."""
    started = time.perf_counter()
    data_path = Path(config.data.path)
    if not data_path.exists() and config.data.path == SAMPLE_PATH:
        make_sample(data_path, config.task)
        log.info(
            "wrote the sample data set to %s (built from scikit-learn's bundled data)", data_path
        )
    frame = load_table(data_path)
    features, target = split_target(frame, config.data, config.task)
    numeric, categorical = feature_columns(frame, config.data)
    features = features[numeric + categorical]

    classes: list[str] | None = None
    y = target.to_numpy()
    if config.task == "classification":
        # Gradient boosting libraries want labels 0..k-1; the names are kept for predictions.
        encoder = LabelEncoder()
        y = encoder.fit_transform(target.astype(str))
        classes = [str(c) for c in encoder.classes_]

    stratify = y if config.task == "classification" else None
    x_train, x_test, y_train, y_test = train_test_split(
        features, y, test_size=config.data.test_size, random_state=config.seed, stratify=stratify
    )
    pipeline = build_pipeline(
        config.model.name, config.task, dict(config.model.params), config.seed, numeric, categorical
    )
    scoring = evaluate.cv_scoring(config.task, len(classes or []))
    # Repeats reshuffle the folds: the spread of the scores then reflects the data, not one
    # lucky split (goal=research repeats 3 times).
    splitter = (
        RepeatedStratifiedKFold(
            n_splits=config.cv.folds, n_repeats=config.cv.repeats, random_state=config.seed
        )
        if config.task == "classification"
        else RepeatedKFold(
            n_splits=config.cv.folds, n_repeats=config.cv.repeats, random_state=config.seed
        )
    )
    log.info(
        "cross-validating %s on %d rows, %d folds x %d repeats",
        config.model.name,
        len(x_train),
        config.cv.folds,
        config.cv.repeats,
    )
    cv = cross_validate(pipeline, x_train, y_train, cv=splitter, scoring=scoring)
    cv_summary = {}
    for name in scoring:
        values = cv[f"test_{name}"]
        values = -values if scoring[name].startswith("neg_") else values
        cv_summary[name] = {"mean": float(np.mean(values)), "std": float(np.std(values))}
        log.info("cv %-8s %.4f +/- %.4f", name, cv_summary[name]["mean"], cv_summary[name]["std"])

    fit_started = time.perf_counter()
    pipeline.fit(x_train, y_train)
    fit_seconds = time.perf_counter() - fit_started
    y_pred = pipeline.predict(x_test)
    proba = pipeline.predict_proba(x_test) if config.task == "classification" else None
    holdout = evaluate.holdout_metrics(config.task, y_test, y_pred, proba)

    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    if config.task == "classification":
        plots = evaluate.plot_classification(y_test, y_pred, proba, classes, out)
    else:
        plots = evaluate.plot_regression(y_test, y_pred, out)
    main_score = "roc_auc" if config.task == "classification" else "r2"
    importance_path, importance = evaluate.plot_importance(
        pipeline, x_test, y_test, scoring[main_score], config.seed, out
    )
    plots.append(importance_path)

    rows_seen = len(x_train)
    if config.refit_on_all_rows:
        # The scores above belong to the model fitted without the hold-out rows; the model
        # shipped is refitted on every row with the same settings (more data, same recipe).
        pipeline.fit(features, y)
        rows_seen = len(features)
        log.info("refitted on all %d rows for the saved model", rows_seen)
    bundle = {
        "pipeline": pipeline,
        "task": config.task,
        "target": config.data.target,
        "features": numeric + categorical,
        "classes": classes,
        "rows_seen": rows_seen,
    }
    joblib.dump(bundle, out / "model.joblib")
    result = {
        "task": config.task,
        "model": config.model.name,
        "rows": {"train": len(x_train), "test": len(x_test)},
        "saved_model_rows": bundle["rows_seen"],
        "cv": cv_summary,
        "cv_fits": len(cv["fit_time"]),
        "holdout": holdout,
        "feature_importance": importance,
        # Throughput of the final fit, so a slow configuration is visible at a glance.
        "fit_rows_per_second": len(x_train) / max(fit_seconds, 1e-9),
        "seconds": time.perf_counter() - started,
        "plots": [p.name for p in plots],
    }
    (out / "metrics.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    log.info("hold-out %s; fit %.0f rows/s", holdout, result["fit_rows_per_second"])
    log.info("wrote %s: metrics.json, model.joblib, %s", out, ", ".join(p.name for p in plots))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/train.yaml", help="YAML training config")
    parser.add_argument("--data-path", help="override data.path")
    parser.add_argument("--output-dir", help="override output_dir")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        config = load_config(args.config)
        if args.data_path:
            config.data.path = args.data_path
        if args.output_dir:
            config.output_dir = args.output_dir
        train(config)
    except (ConfigError, DataError) as exc:
        parser.exit(2, f"error: {exc}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
