"""Layer 5 for the tabular stack: each model x task project installed, tested and trained, offline."""

from __future__ import annotations

import json
import time

import pytest

from tests.integration.stack_env import project_env, run_step

pytestmark = pytest.mark.integration

CASES = [
    (model, task)
    for model in ("xgboost", "lightgbm", "sklearn")
    for task in ("tabular-classification", "tabular-regression")
]
# Each model's projects get one goal, so every goal is installed and trained:
# goal -> (cross-validation fits, saved model refitted on every row)
GOAL_OF_MODEL = {"xgboost": "prototype", "lightgbm": "research", "sklearn": "production"}
GOAL_EFFECT = {"prototype": (3, False), "research": (15, False), "production": (5, True)}


@pytest.mark.parametrize(("model", "task"), CASES, ids=[f"{m}-{t}" for m, t in CASES])
def test_generated_project_installs_tests_trains_and_predicts(
    render_project, tmp_path, model, task
):
    name = f"tab_{model}_{task.split('-')[1]}"
    goal = GOAL_OF_MODEL[model]
    project = render_project(name, task=task, hardware="cpu", tabular_model=model, goal=goal)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    python = project_env(project, tmp_path)
    timings["install"] = round(time.perf_counter() - started, 1)
    assert (python.parent / f"{name.replace('_', '-')}-train").exists(), "console script installed"

    run_step(
        python, ["-m", "pytest", "-q", "-p", "no:cacheprovider"], project, "own tests", timings
    )
    run_step(
        python, ["-m", f"{name}.train", "--config", "configs/train.yaml"], project, "train", timings
    )
    out = project / "artifacts"
    metrics = json.loads((out / "metrics.json").read_text())
    plots = (
        ["confusion_matrix.png", "roc_curve.png"] if "classification" in task else ["residuals.png"]
    )
    for png in [*plots, "feature_importance.png"]:
        assert (out / png).stat().st_size > 1000, png
    if "classification" in task:
        assert metrics["holdout"]["roc_auc"] >= 0.95
    else:
        assert metrics["holdout"]["r2"] >= 0.3
    cv_fits, refit = GOAL_EFFECT[goal]
    rows = metrics["rows"]["train"] + (metrics["rows"]["test"] if refit else 0)
    assert (metrics["cv_fits"], metrics["saved_model_rows"]) == (cv_fits, rows), goal
    run_step(
        python,
        [
            "-m",
            f"{name}.predict",
            "--model",
            str(out / "model.joblib"),
            "--input",
            "data/sample.csv",
            "--output",
            str(out / "predictions.csv"),
        ],
        project,
        "predict",
        timings,
    )
    assert (out / "predictions.csv").read_text().count("\n") == 1 + metrics["rows"][
        "train"
    ] + metrics["rows"]["test"]
    print(f"\n{name}: {timings}")
