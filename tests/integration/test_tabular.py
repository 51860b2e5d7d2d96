"""Layer 5 for the tabular stack: each model x task project, through its README's commands.

Each project is installed, tested, trained and used for prediction by the README's own
command blocks, run as written, offline, in an environment built only from what the project
declares (stack_env.py).
"""

from __future__ import annotations

import json
import shutil

import pytest

from tests.integration.stack_env import project_env, run_readme

pytestmark = pytest.mark.integration

# Each model's projects get one goal, so every goal is installed and trained:
# goal -> (cross-validation fits, saved model refitted on every row)
GOAL_OF_MODEL = {"xgboost": "prototype", "lightgbm": "research", "sklearn": "production"}
GOAL_EFFECT = {"prototype": (3, False), "research": (15, False), "production": (5, True)}
# (project name, answers): also walked by test_declared_imports.py
VARIANTS = [
    (
        f"tab_{model}_{task.split('-')[1]}",
        {"task": task, "hardware": "cpu", "tabular_model": model, "goal": GOAL_OF_MODEL[model]},
    )
    for model in ("xgboost", "lightgbm", "sklearn")
    for task in ("tabular-classification", "tabular-regression")
]


@pytest.mark.parametrize(("name", "answers"), VARIANTS, ids=[v[0] for v in VARIANTS])
def test_readme_installs_tests_trains_and_predicts(render_project, tmp_path, name, answers):
    project = render_project(name, **answers)
    python = project_env(project, tmp_path)
    assert (python.parent / f"{name.replace('_', '-')}-train").exists(), "console script installed"

    run_readme(python, project, "test")
    run_readme(python, project, "train")
    out = project / "artifacts"
    metrics = json.loads((out / "metrics.json").read_text())
    classification = answers["task"] == "tabular-classification"
    plots = ["confusion_matrix.png", "roc_curve.png"] if classification else ["residuals.png"]
    for png in [*plots, "feature_importance.png"]:
        assert (out / png).stat().st_size > 1000, png
    if classification:
        assert metrics["holdout"]["roc_auc"] >= 0.95
    else:
        assert metrics["holdout"]["r2"] >= 0.3
    cv_fits, refit = GOAL_EFFECT[answers["goal"]]
    rows = metrics["rows"]["train"] + (metrics["rows"]["test"] if refit else 0)
    assert (metrics["cv_fits"], metrics["saved_model_rows"]) == (cv_fits, rows), answers["goal"]

    # The README scores "new rows" from new.csv: the user's file, here the sample again.
    shutil.copy(project / "data" / "sample.csv", project / "new.csv")
    run_readme(python, project, "predict")
    predicted = (project / "predictions.csv").read_text().count("\n")
    assert predicted == 1 + metrics["rows"]["train"] + metrics["rows"]["test"]
