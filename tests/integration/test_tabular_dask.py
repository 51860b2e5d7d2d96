"""Layer 5, tabular data_size=large: the README's Dask command on a local cluster.

The project is installed in an environment built only from what it declares
(stack_env.py); its own tests (a 2-worker cluster on Parquet parts, compared with the
in-memory path) and the README's `train-dask` command run as written, offline (loopback
only), then `predict` with the model Dask trained. Reading Parquet parts is the generated
tests' part (tests/test_distributed.py): a second cluster run here would cost ~30 s more.
"""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from tests.integration.stack_env import project_env, run_readme

pytestmark = pytest.mark.integration

# (project name, answers): also walked by test_declared_imports.py. recommend's model for
# data_size=large is LightGBM; XGBoost's Dask path runs in the generated tests of the
# render layer's variants only (same module, a different booster class).
VARIANTS = [
    (
        "tab_large_classification",
        {
            "task": "tabular-classification",
            "hardware": "cpu",
            "data_size": "large",
            "goal": "prototype",
        },
    ),
]


@pytest.mark.parametrize(("name", "answers"), VARIANTS, ids=[v[0] for v in VARIANTS])
def test_readme_trains_on_a_dask_cluster_and_the_model_predicts(
    render_project, tmp_path, name, answers
):
    project = render_project(name, **answers)
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert recorded["tabular_model"] == "lightgbm"
    python = project_env(project, tmp_path)

    tested = run_readme(python, project, "test")
    assert "failed" not in tested.stdout and " passed" in tested.stdout, tested.stdout[-2000:]
    run_readme(python, project, "train-dask")
    out = project / "artifacts"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["engine"] == "dask" and metrics["model"] == "lightgbm"
    assert metrics["dask"]["workers"] >= 1 and metrics["dask"]["scheduler"].startswith("tcp://")
    assert metrics["holdout"]["roc_auc"] >= 0.95, metrics["holdout"]
    for png in ("confusion_matrix.png", "roc_curve.png"):
        assert (out / png).stat().st_size > 1000, png

    # The README scores "new rows" with the model the Dask command saved in artifacts/.
    shutil.copy(project / "data" / "sample.csv", project / "new.csv")
    run_readme(python, project, "predict")
    predicted = (project / "predictions.csv").read_text().count("\n")
    assert predicted == 1 + sum(metrics["rows"].values())
