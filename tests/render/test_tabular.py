"""Layer 3 for the tabular stack: every choice value renders the exact file set it should."""

from __future__ import annotations

import tomllib

import pytest
import yaml

from tests.render.checks import SHARED_FILES, file_set

COMMON = [
    *SHARED_FILES,
    "configs/train.yaml",
    "data/.gitkeep",
    "src/{pkg}/__init__.py",
    "src/{pkg}/config.py",
    "src/{pkg}/data.py",
    "src/{pkg}/evaluate.py",
    "src/{pkg}/pipeline.py",
    "src/{pkg}/predict.py",
    "src/{pkg}/train.py",
    "tests/__init__.py",
    "tests/conftest.py",
    "tests/test_data.py",
    "tests/test_pipeline.py",
    "tests/test_predict.py",
    "tests/test_train.py",
]
CI_FILES = {"github": [".github/workflows/ci.yml", ".github/dependabot.yml"], "gitlab": [".gitlab-ci.yml"], "none": []}

CASES = [
    {
        "task": "tabular-classification",
        "hardware": "cpu",
        "tabular_model": "xgboost",
        "ci": "github",
    },
    {"task": "tabular-regression", "hardware": "cpu", "tabular_model": "lightgbm", "ci": "gitlab"},
    {"task": "tabular-classification", "hardware": "gpu", "tabular_model": "sklearn", "ci": "none"},
    {
        "task": "tabular-regression",
        "hardware": "multi-gpu",
        "tabular_model": "xgboost",
        "ci": "github",
    },
    {
        "task": "tabular-classification",
        "hardware": "tpu",
        "tabular_model": "lightgbm",
        "ci": "github",
    },
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(c.values()))
def test_exact_file_set_and_answers_reach_the_files(render_project, case):
    project = render_project("tab_proj", **case)
    expected = sorted([f.format(pkg="tab_proj") for f in COMMON] + CI_FILES[case["ci"]])
    assert file_set(project) == expected

    config = yaml.safe_load((project / "configs/train.yaml").read_text())
    task = "classification" if case["task"] == "tabular-classification" else "regression"
    assert config["task"] == task
    assert config["model"]["name"] == case["tabular_model"]
    deps = " ".join(
        tomllib.loads((project / "pyproject.toml").read_text())["project"]["dependencies"]
    )
    gpu = case["hardware"] in ("gpu", "multi-gpu")
    if case["tabular_model"] == "xgboost":
        # The CPU-only wheel saves ~0.5 GB where no GPU is used.
        assert ("xgboost-cpu" in deps) == (not gpu)
        assert (config["model"]["params"].get("device") == "cuda") == gpu
        assert config["model"]["params"]["tree_method"] == "hist"
    else:
        assert "xgboost" not in deps
    assert ("lightgbm" in deps) == (case["tabular_model"] == "lightgbm")
    if case["tabular_model"] == "sklearn":
        assert config["model"]["params"] == {"estimator": "linear"}
    readme = (project / "README.md").read_text()
    assert ("confusion_matrix.png" in readme) == (task == "classification")
    assert ("residuals.png" in readme) == (task == "regression")
    assert ("## Hardware" in readme) == (case["hardware"] != "cpu")
    assert ("LocalCUDACluster" in readme) == (case["hardware"] == "multi-gpu")
    assert ("host's CPUs" in readme) == (case["hardware"] == "tpu")


# goal -> (cv.folds, cv.repeats, refit_on_all_rows)
GOALS = {"prototype": (3, 1, False), "research": (5, 3, False), "production": (5, 1, True)}


@pytest.mark.parametrize("goal", list(GOALS))
def test_goal_sets_the_training_defaults(render_project, goal):
    root = render_project("demo-tab", task="tabular-classification", hardware="cpu", goal=goal)
    config = yaml.safe_load((root / "configs/train.yaml").read_text())
    assert (config["cv"]["folds"], config["cv"]["repeats"], config["refit_on_all_rows"]) == (
        GOALS[goal]
    )
    readme = (root / "README.md").read_text()
    assert f"## Defaults for your goal ({goal})" in readme
    assert ("refit_on_all_rows: true" in readme) == (goal == "production")
