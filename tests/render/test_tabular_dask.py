"""Layer 3, tabular: the Dask path (issue 15) renders for data_size=large and multi-gpu projects
with a booster, and only there.

Each variant's file set is compared with the same answers' in-memory twin (data_size=small,
hardware=cpu): exactly the Dask files are added, whatever else the stack renders.
"""

from __future__ import annotations

import tomllib

import pytest
import yaml

from tests.render.checks import assert_python_is_clean, assert_text_is_clean, file_set

DASK_FILES = [
    "configs/dask.yaml",
    "src/{pkg}/dask_cluster.py",
    "src/{pkg}/distributed.py",
    "tests/test_distributed.py",
]
CLASSIFY = {"task": "tabular-classification"}
REGRESS = {"task": "tabular-regression"}

# (answers, Dask path rendered)
VARIANTS = [
    ({**CLASSIFY, "hardware": "cpu", "data_size": "large"}, True),  # recommend: lightgbm
    ({**REGRESS, "hardware": "cpu", "data_size": "large", "tabular_model": "xgboost"}, True),
    ({**CLASSIFY, "hardware": "multi-gpu", "tabular_model": "xgboost"}, True),
    ({**REGRESS, "hardware": "multi-gpu", "tabular_model": "lightgbm"}, True),
    ({**CLASSIFY, "hardware": "multi-gpu", "tabular_model": "sklearn"}, False),
    ({**CLASSIFY, "hardware": "cpu", "data_size": "large", "tabular_model": "sklearn"}, False),
    ({**CLASSIFY, "hardware": "gpu", "data_size": "small", "tabular_model": "xgboost"}, False),
]


def _ids(variant: tuple[dict[str, str], bool]) -> str:
    answers, _ = variant
    return "-".join(answers.values())


@pytest.mark.parametrize(("answers", "dask"), VARIANTS, ids=[_ids(v) for v in VARIANTS])
def test_dask_files_render_exactly_where_the_path_applies(render_project, answers, dask):
    project = render_project("tab_dask", **answers)
    twin_answers = {**answers, "hardware": "cpu", "data_size": "small"}
    twin_answers.setdefault("tabular_model", "lightgbm")  # the large variant's recommendation
    twin = render_project("tab_twin", **twin_answers)
    added = [f.format(pkg="tab_dask") for f in DASK_FILES] if dask else []
    twin_files = [f.replace("tab_twin", "tab_dask") for f in file_set(twin)]
    assert file_set(project) == sorted(twin_files + added)

    deps = tomllib.loads((project / "pyproject.toml").read_text())["project"]["dependencies"]
    assert ("dask[dataframe,distributed]>=2025.1" in deps) == dask
    assert not any("dask" in d for d in deps if not d.startswith("dask[")), deps
    assert not any(
        "dask" in d
        for d in tomllib.loads((twin / "pyproject.toml").read_text())["project"]["dependencies"]
    )
    readme = (project / "README.md").read_text()
    assert ("<!-- cmd: train-dask -->" in readme) == dask
    assert ("## Train on a Dask cluster" in readme) == dask
    # the hand-written xgboost.dask snippet that bypassed the pipeline is gone
    assert "DaskXGBClassifier(tree_method" not in readme
    if answers["hardware"] == "multi-gpu":
        assert "## Hardware" in readme
        if answers["tabular_model"] != "xgboost":
            assert "tabular_model=xgboost" in readme  # where the GPUs are used
    if dask:
        assert_text_is_clean(project)
        assert_python_is_clean(project)
        cluster = yaml.safe_load((project / "configs/dask.yaml").read_text())
        gpus = answers["hardware"] == "multi-gpu" and answers["tabular_model"] == "xgboost"
        assert cluster["cluster"] == ("cuda" if gpus else "local")
        assert cluster["scheduler"] is None and cluster["sample_rows"] == 100_000
        assert ("processes" in cluster) == (not gpus)
        assert "python -m tab_dask.distributed --config configs/train.yaml" in readme
        test = (project / "tests/test_distributed.py").read_text()
        processes = answers.get("tabular_model", "lightgbm") == "lightgbm"
        assert f"PROCESSES = {processes}" in test  # LightGBM needs worker processes


def test_dask_settings_module_knows_every_key_of_the_generated_config(render_project):
    """configs/dask.yaml and distributed.DaskConfig name the same keys (unknown keys are errors)."""
    import ast

    project = render_project("tab_keys", **CLASSIFY, hardware="cpu", data_size="large")
    tree = ast.parse((project / "src/tab_keys/dask_cluster.py").read_text())
    dataclass = next(
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef) and node.name == "DaskConfig"
    )
    fields = {
        node.target.id
        for node in dataclass.body
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
    }
    for hardware, model in (("cpu", "lightgbm"), ("multi-gpu", "xgboost")):
        variant = render_project(
            f"tab_{model}", **CLASSIFY, hardware=hardware, data_size="large", tabular_model=model
        )
        keys = set(yaml.safe_load((variant / "configs/dask.yaml").read_text()))
        assert keys <= fields, keys - fields
