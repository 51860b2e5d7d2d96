"""Train: cross-validate, fit, evaluate on a hold-out split, save metrics, plots and the model.

python -m <package>.train --config configs/train.yaml [--data-path X] [--output-dir Y]
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from importlib import import_module
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.model_selection import cross_validate
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.class_weight import compute_sample_weight

from . import calibration, decision, early_stopping, evaluate, explain, modelcard, search, splits
from .config import ConfigError, TrainConfig, load_config
from .data import (
    DataError,
    infer_schema,
    load_table,
    make_sample,
    prepare_features,
    split_target,
    summarize,
)
from .pipeline import build_pipeline

log = logging.getLogger(__name__)
SAMPLE_PATH = "data/sample.csv"


def class_weights(y: np.ndarray, setting: str) -> np.ndarray | None:
    """Per-row weights that make every class count the same, or None.

    `auto` weighs only skewed targets (the rarest class under half the most common one):
    without weights a booster on 14% positives can predict no positive at all.
    """
    if setting == "none":
        return None
    counts = np.bincount(y)
    if setting == "auto" and counts.min() >= 0.5 * counts.max():
        return None
    return compute_sample_weight("balanced", y)


def train(config: TrainConfig) -> dict[str, Any]:
    """Run one training; returns the metrics written to <output_dir>/metrics.json."""
    if config.task == "clustering":  # clustering.py: generated for task=tabular-clustering
        return import_module(f"{__package__}.clustering").train_clusters(config)
    if config.data.target is None:  # load_config refuses it; a config built in code may not
        raise ConfigError("data.target must name the column to predict")
    started = time.perf_counter()
    data_path = Path(config.data.path)
    if not data_path.exists() and config.data.path == SAMPLE_PATH:
        make_sample(data_path, config.task)
        log.info(
            "wrote the sample data set to %s (built from scikit-learn's bundled data)", data_path
        )
    frame = load_table(data_path)
    rows_read = len(frame)
    # the group/time column of cv.strategy splits the rows; it is no feature unless listed
    schema = infer_schema(frame, splits.exclude_split_column(frame, config.data, config.cv))
    frame, target = split_target(frame, config.data, config.task, folds=config.cv.folds)
    features, problems, coerced = prepare_features(frame, schema)
    schema.coerced_to_missing = coerced
    for column, count in coerced.items():
        log.warning("column %r: %d cell(s) were not valid and count as missing", column, count)
    if problems:
        log.warning("the first cells that did not parse:\n%s", summarize(problems))
    for role in ("numeric", "categorical", "datetime", "id_columns", "dropped"):
        log.info("%-11s %s", role, ", ".join(getattr(schema, role)) or "-")
    numeric, categorical = schema.numeric, schema.categorical

    classes: list[Any] | None = None
    y = target.to_numpy()
    if config.task == "classification":
        # Gradient boosting libraries want labels 0..k-1; the original labels (integers stay
        # integers, sorted as numbers) are kept for predictions.
        encoder = LabelEncoder()
        y = encoder.fit_transform(target)
        classes = encoder.classes_.tolist()

    values = splits.split_values(frame, config.cv)  # groups or times (cv.strategy)
    train_rows, test_rows = splits.holdout(
        len(y), y, config.cv, values, config.data.test_size, config.seed, classes is not None
    )
    x_train, x_test = features.iloc[train_rows], features.iloc[test_rows]
    y_train, y_test = y[train_rows], y[test_rows]
    groups = None if values is None else values.to_numpy()[train_rows]

    def make(params: dict[str, Any]) -> Any:
        return build_pipeline(
            config.model.name,
            config.task,
            params,
            config.seed,
            numeric,
            categorical,
            schema.datetime,
        )

    weights = class_weights(y_train, config.model.class_weight) if classes else None
    fit_params = {} if weights is None else {"model__sample_weight": weights}
    if weights is not None:
        log.info("class weights: balanced (model.class_weight=%s)", config.model.class_weight)
    scoring = evaluate.cv_scoring(config.task, len(classes or []))
    main_score = "roc_auc" if config.task == "classification" else "r2"
    # One list of folds scores the model, the baselines and every tuning trial. kfold repeats
    # reshuffle them: the spread then reflects the data, not one lucky split.
    folds = splits.folds(x_train, y_train, config.cv, groups, config.seed, classes is not None)
    out = Path(config.output_dir)
    pipeline, tuned, stopped = search.settle(
        config, make, x_train, y_train, weights, folds, groups, scoring[main_score], fit_params, out
    )
    log.info(
        "cross-validating %s on %d rows: %d %s folds (%d x %d repeats)",
        config.model.name,
        len(x_train),
        len(folds),
        config.cv.strategy,
        config.cv.folds,
        config.cv.repeats,
    )
    binary = classes is not None and len(classes) == 2
    tune = binary and config.model.threshold == "auto"
    cv = cross_validate(
        pipeline,
        x_train,
        y_train,
        cv=folds,
        scoring=scoring,
        params=fit_params,
        return_estimator=tune,  # the fold models give out-of-fold probabilities for the cut
        return_indices=tune,
    )
    cv_summary = decision.cv_means(cv, scoring)
    for name, value in cv_summary.items():
        log.info("cv %-8s %.4f +/- %.4f", name, value["mean"], value["std"])
    baselines: dict[str, dict[str, float]] = {}
    margin = None
    if config.cv.baselines:
        baselines = decision.baselines(
            pipeline, config.task, config.seed, x_train, y_train, folds, scoring, fit_params
        )
        margin = decision.margin(cv_summary, baselines, main_score, lower=False)
        for name, scores in baselines.items():
            log.info("baseline %-6s cv %s %.4f", name, main_score, scores[main_score])
        if margin <= 0:
            log.warning(
                "%s does not beat the best baseline on cv %s (margin %+.4f): tune it or use "
                "the simpler model",
                config.model.name,
                main_score,
                margin,
            )

    threshold = None
    if binary and classes is not None and config.model.threshold != "none":
        if tune:
            oof = decision.out_of_fold_proba(cv, len(x_train), x_train)
            scored = ~np.isnan(oof)  # time folds never validate on the earliest rows
            threshold = decision.tune_threshold(y_train[scored], oof[scored])
        else:
            threshold = float(config.model.threshold)
        log.info(
            "decision threshold on P(%s): %.3f (model.threshold=%s)",
            classes[1],
            threshold,
            config.model.threshold,
        )

    fit_started = time.perf_counter()
    pipeline.fit(x_train, y_train, **fit_params)
    fit_seconds = time.perf_counter() - fit_started
    proba = pipeline.predict_proba(x_test) if config.task == "classification" else None
    y_pred = (
        decision.apply_threshold(proba, threshold)
        if proba is not None
        else pipeline.predict(x_test)
    )
    holdout = evaluate.holdout_metrics(config.task, y_test, y_pred, proba, classes)
    holdout_at_half = None
    if threshold is not None:  # what the cut changed, on the same rows
        plain = decision.apply_threshold(proba, None)
        holdout_at_half = evaluate.holdout_metrics(config.task, y_test, plain, proba, classes)
    # Columns the model sees after encoding: IDs or a dense one-hot of thousands would show here.
    encoded_features = pipeline.named_steps["preprocess"].transform(x_test.iloc[:1]).shape[1]

    out.mkdir(parents=True, exist_ok=True)
    calibrated: dict[str, Any] | None = None
    if classes is not None:  # classification
        names = [str(c) for c in classes]
        plots = evaluate.plot_classification(y_test, y_pred, proba, names, out)
        # Brier score and the reliability diagram, before/after model.calibration
        calibrated, reliability = calibration.report(
            pipeline,
            config.model.calibration,
            x_train,
            y_train,
            fit_params,
            x_test,
            y_test,
            proba,
            names,
            out,
        )
        plots.append(reliability)
    else:
        plots = evaluate.plot_regression(y_test, y_pred, out)
    importance_path, importance = evaluate.plot_importance(
        pipeline, x_test, y_test, scoring[main_score], config.seed, out
    )
    plots.append(importance_path)
    if stopped is not None:
        plots.append(early_stopping.plot_curve(stopped, out))
    if tuned is not None:
        plots.append(out / tuned["plot"])
    # SHAP values from the model's own exact algorithm (explain.py), on the same hold-out rows
    labels = [str(c) for c in classes] if classes is not None else None
    shap_plots, explanations = explain.explain_and_plot(pipeline, x_test, out, config.seed, labels)
    plots += shap_plots

    rows_seen = len(x_train)
    if config.refit_on_all_rows:
        # The scores above belong to the model fitted without the hold-out rows; the model
        # shipped is refitted on every row with the same settings (more data, same recipe).
        all_weights = class_weights(y, config.model.class_weight) if classes else None
        refit_params = {} if all_weights is None else {"model__sample_weight": all_weights}
        pipeline.fit(features, y, **refit_params)
        rows_seen = len(features)
        log.info("refitted on all %d rows for the saved model", rows_seen)
    bundle = {
        "pipeline": pipeline,
        "task": config.task,
        "target": config.data.target,
        "features": schema.features,
        "schema": schema.as_dict(),
        # values seen per categorical column: predict names the ones it has never seen
        "categories": {c: sorted(map(str, features[c].dropna().unique())) for c in categorical},
        "classes": classes,
        "threshold": threshold,
        "rows_seen": rows_seen,
        "versions": modelcard.library_versions(),  # predict warns when they differ
    }
    joblib.dump(bundle, out / "model.joblib")
    result = {
        "task": config.task,
        "model": config.model.name,
        "rows": {"train": len(x_train), "test": len(x_test)},
        "rows_without_target": rows_read - len(features),
        "columns": schema.as_dict(),
        "encoded_features": int(encoded_features),
        "class_weight": "balanced" if weights is not None else "none",
        "saved_model_rows": bundle["rows_seen"],
        "cv": cv_summary,
        "cv_fits": len(cv["fit_time"]),
        "cv_strategy": {
            "strategy": config.cv.strategy,
            "column": splits.split_column(config.cv),
            "folds": len(folds),
        },
        # rounds early stopping chose (the curve is in training_curve.png), Optuna's study
        "early_stopping": (
            None if stopped is None else {k: v for k, v in stopped.items() if k != "curve"}
        ),
        "tuning": tuned,
        "calibration": calibrated,
        # the same folds, a constant and a linear model: what the score is worth
        "baselines": baselines,
        "margin_over_best_baseline": {main_score: margin} if margin is not None else {},
        "threshold": threshold,
        "holdout": holdout,
        "holdout_at_threshold_0.5": holdout_at_half,
        "feature_importance": importance,
        "explanations": explanations,
        # Throughput of the final fit, so a slow configuration is visible at a glance.
        "fit_rows_per_second": len(x_train) / max(fit_seconds, 1e-9),
        "seconds": time.perf_counter() - started,
        "plots": [p.name for p in plots],
    }
    (out / "metrics.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    modelcard.write(out, result, config.data.target, bundle["versions"])
    log.info("hold-out %s; fit %.0f rows/s", holdout, result["fit_rows_per_second"])
    log.info(
        "wrote %s: metrics.json, model.joblib, MODEL_CARD.md, %s",
        out,
        ", ".join(p.name for p in plots),
    )
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
