"""Layer 5 for the tf-tflite stack: generated projects installed, tested and trained, offline."""

from __future__ import annotations

import json
import time

import pytest

from tests.integration.stack_env import project_env, run_step

pytestmark = pytest.mark.integration

VARIANTS = ("float32", "float16", "dynamic_range", "int8")
# (project name, task, hardware, goal): the device targets, TPU, and text on an edge board;
# text trains its prototype default (10 epochs) below and must still clear the floors.
CASES = [
    ("tft_img_mobile", "image-classification", "mobile", "production"),
    ("tft_img_browser", "image-classification", "browser", "research"),
    ("tft_custom_tpu", "custom", "tpu", "research"),
    ("tft_txt_edge", "text-classification", "edge", "prototype"),
]


@pytest.mark.parametrize(("name", "task", "hardware", "goal"), CASES, ids=[c[0] for c in CASES])
def test_generated_project_tests_trains_and_exports(
    render_project, tmp_path, name, task, hardware, goal
):
    project = render_project(name, stack="tf-tflite", task=task, hardware=hardware, goal=goal)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    python = project_env(project, tmp_path)
    timings["install"] = round(time.perf_counter() - started, 1)
    assert (python.parent / f"{name.replace('_', '-')}-train").exists(), "console script installed"

    tests = run_step(
        python,
        ["-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"],
        project,
        "own tests",
        timings,
    )
    assert "failed" not in tests.stdout.splitlines()[-1]
    if hardware == "browser":
        # tensorflowjs is not in the main environment: its test must skip, and say why
        assert "SKIPPED" in tests.stdout and "tensorflowjs" in tests.stdout, tests.stdout[-3000:]

    # 3 epochs are enough for the image sample; the text model trains its default in seconds
    epochs = [] if task == "text-classification" else ["--epochs", "3"]
    run_step(
        python,
        ["-m", f"{name}.train", "--config", "configs/train.yaml", *epochs],
        project,
        "train+export",
        timings,
    )
    out = project / "artifacts"
    for variant in VARIANTS:
        assert (out / "tflite" / f"model_{variant}.tflite").stat().st_size > 1000, variant
    assert (out / "training_curves.png").stat().st_size > 1000
    assert (out / "saved_model" / "saved_model.pb").is_file()
    assert (out / "report.md").read_text().count("\n| ") == 1 + len(VARIANTS)
    report = json.loads((out / "report.json").read_text())
    sizes = {row["variant"]: row["size_bytes"] for row in report["variants"]}
    assert sizes["int8"] <= 0.35 * sizes["float32"]
    assert report["keras_accuracy"] >= 0.8, report
    if task == "text-classification":  # the sample is learnable but not trivially separable
        assert report["keras_accuracy"] < 0.99, report
    extra = ["vocab.txt"] if task == "text-classification" else []
    for name_ in ["labels.txt", "metadata.json", *extra]:
        assert (out / "tflite" / name_).is_file(), name_

    probe = (
        ["--text", "the striker scored in the final"]
        if task == "text-classification"
        else ["data/sample/3/0003.png"]
    )
    predicted = run_step(
        python,
        ["-m", f"{name}.predict", str(out / "tflite" / "model_int8.tflite"), *probe],
        project,
        "predict (LiteRT)",
        timings,
    )
    assert predicted.stdout.strip()
    if task == "text-classification":
        assert "sports" in predicted.stdout.split(":")[-1].split(",")[0], predicted.stdout
    if hardware == "edge":
        bundle = out / "edge"
        assert (bundle / "model_int8.tflite").is_file() and (bundle / "vocab.txt").is_file()
        deploy = json.loads((bundle / "metadata.json").read_text())["deploy"]
        assert deploy["model"] == "model_int8.tflite" and deploy["num_threads"] >= 1
        bench = run_step(
            python,
            ["-m", f"{name}.benchmark", str(bundle / "model_int8.tflite"), "--runs", "50"],
            project,
            "benchmark (LiteRT)",
            timings,
        )
        assert "p99 ms" in bench.stdout, bench.stdout
    rows = {r["variant"]: (r["size_bytes"], round(r["accuracy"], 4)) for r in report["variants"]}
    print(
        f"\n{name}: {timings}; keras accuracy {report['keras_accuracy']:.4f}; (size, accuracy) {rows}"
    )
