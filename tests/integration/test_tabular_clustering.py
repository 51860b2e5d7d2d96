"""Layer 5 for tabular-clustering: the project through its README's commands.

Installed from what it declares only (stack_env.py), its own tests (the service's included:
goal=production serves it), training on the bundled segments, predict on "new" rows, and the
one-line errors a user meets first: a bad config at train, a bad cell at predict.
"""

from __future__ import annotations

import json

import pytest

from tests.integration.stack_env import error_line, project_env, run_in, run_readme

pytestmark = pytest.mark.integration

# (project name, answers): also walked by test_declared_imports.py
VARIANTS = [
    (
        "tab_clustering",
        {"task": "tabular-clustering", "hardware": "cpu", "goal": "production"},
    ),
]
SERVE_TESTS = [
    "test_service_answers_as_the_predict_command_does",
    "test_bad_requests_get_a_4xx_json_error",
    "test_concurrent_load_has_no_errors",
]


@pytest.mark.parametrize(("name", "answers"), VARIANTS, ids=[v[0] for v in VARIANTS])
def test_readme_installs_tests_clusters_and_assigns(render_project, tmp_path, name, answers):
    project = render_project(name, **answers)
    python = project_env(project, tmp_path)

    tests = run_readme(python, project, "test", extra_env={"PYTEST_ADDOPTS": "-v"})
    for test in ["test_k_found_on_well_separated_blobs_equals_the_true_k", *SERVE_TESTS]:
        assert f"::{test}" in tests.stdout and "FAILED" not in tests.stdout, test

    run_readme(python, project, "train")
    out = project / "artifacts"
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["task"], metrics["algorithm"], metrics["k"]) == ("clustering", "kmeans", 4)
    assert metrics["silhouette"] >= 0.6 and metrics["rows"] == 480
    assert sorted(metrics["cluster_sizes"].values()) == [120, 120, 120, 120]
    for png in ["silhouette_vs_k.png", "clusters_pca.png", "cluster_profiles.png"]:
        assert (out / png).stat().st_size > 1000, png
    assert (out / "cluster_profiles.csv").read_text().count("\n") == 1 + 4

    # The README assigns "new rows" from new.csv: the user's file, here the sample again.
    sample = (project / "data" / "sample.csv").read_text()
    (project / "new.csv").write_text(sample)
    run_readme(python, project, "predict")
    lines = (project / "predictions.csv").read_text().splitlines()
    assert lines[0] == "customer_id,cluster" and len(lines) == 1 + 480

    header, first, *rest = sample.splitlines()
    cells = first.split(",")
    cells[header.split(",").index("annual_spend")] = "lots"
    (project / "bad.csv").write_text("\n".join([header, ",".join(cells), *rest[:3]]) + "\n")
    args = ["--model", "artifacts/model.joblib", "--input", "bad.csv", "--output", "p.csv"]
    line = error_line(run_in(python, ["-m", f"{name}.predict", *args], project))
    assert "row 1 (customer_id=C00000): column 'annual_spend' expects a number" in line

    config = (project / "configs" / "train.yaml").read_text()
    (project / "bad.yaml").write_text(config.replace("algorithm: kmeans", "algorithm: dbscan"))
    line = error_line(run_in(python, ["-m", f"{name}.train", "--config", "bad.yaml"], project))
    assert "cluster.algorithm must be one of" in line
