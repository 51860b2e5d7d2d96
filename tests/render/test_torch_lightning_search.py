"""Render tests of the torch-lightning finders (fit --tune) and the Optuna search."""

from __future__ import annotations

import tomllib

import pytest
import yaml

from tests.render.checks import assert_text_is_clean, read

PKG = "demo_tl"
TASKS = ["image-classification", "custom"]


def _render(render_project, task: str):
    return render_project(
        "demo-tl",
        package_name=PKG,
        stack="torch-lightning",
        task=task,
        hardware="gpu",
        goal="production",
        tracking="csv",
        ci="none",
    )


@pytest.mark.parametrize("task", TASKS)
def test_search_space_is_commented_and_names_cli_keys(render_project, task):
    root = _render(render_project, task)
    assert_text_is_clean(root)
    text = read(root, "configs/search/default.yaml")
    space = yaml.safe_load(text)
    assert (space["monitor"], space["direction"]) == ("val_loss", "minimize")
    params = space["params"]
    assert {"model.lr", "model.weight_decay", "data.batch_size"} <= set(params)
    assert ("model.model_kwargs.dropout" in params) == (task == "custom")
    for key, spec in params.items():
        assert key.split(".")[0] in ("model", "data", "trainer"), key
        assert spec["type"] in ("float", "int", "categorical"), key
    # (every key of the file is commented: test_torch_lightning.py checks configs/*/*.yaml)


@pytest.mark.parametrize("task", TASKS)
def test_finders_and_search_are_wired_in(render_project, task):
    root = _render(render_project, task)
    trainer = yaml.safe_load(read(root, "configs/trainer.yaml"))
    assert (trainer["tune"], trainer["tune_only"]) == (None, False)
    assert trainer["lr_finder"]["num_training"] == 100
    assert (trainer["batch_size_finder"]["mode"], trainer["batch_size_finder"]["max_val"]) == (
        "power",
        4096,
    )
    makefile = read(root, "Makefile")
    assert f"\t$(PY) -m {PKG}.search\n" in makefile
    assert f"\t$(PY) -m {PKG} fit --tune both --tune_only=true\n" in makefile
    readme = read(root, "README.md")
    assert f"python -m {PKG} fit --tune lr" in readme
    assert f"python -m {PKG}.search --n_trials 10" in readme
    assert f"python -m {PKG} fit --config artifacts/search/default/best.yaml" in readme
    deps = tomllib.loads(read(root, "pyproject.toml"))["project"]["dependencies"]
    assert "optuna>=4" in deps and "pyyaml>=6" in deps
    # tune.py is not templated: its commands name the package at run time
    assert "{{" not in read(root, f"src/{PKG}/tune.py")
