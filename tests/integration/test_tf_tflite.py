"""Layer 5 for the tf-tflite stack: the device targets, TPU and text, through the README.

Each project is installed, tested, trained (with the README's quick run for images, the
default for text), used for prediction under LiteRT and re-exported by the README's own
command blocks, run as written, offline, in an environment built only from what the
project declares (stack_env.py).
"""

from __future__ import annotations

import json

import pytest

from tests.integration.stack_env import project_env, run_readme, run_step

pytestmark = pytest.mark.integration

TFLITE_VARIANTS = ("float32", "float16", "dynamic_range", "int8")
# (project name, answers): the device targets, TPU, and text on an edge board; text trains
# its prototype default (10 epochs) and must still clear the floors. Also walked by
# test_declared_imports.py.
VARIANTS = [
    (name, {"stack": "tf-tflite", "task": task, "hardware": hardware, "goal": goal})
    for name, task, hardware, goal in [
        ("tft_img_mobile", "image-classification", "mobile", "production"),
        ("tft_img_browser", "image-classification", "browser", "research"),
        ("tft_custom_tpu", "custom", "tpu", "research"),
        ("tft_txt_edge", "text-classification", "edge", "prototype"),
    ]
]


def _check_export(out) -> dict:
    for variant in TFLITE_VARIANTS:
        assert (out / "tflite" / f"model_{variant}.tflite").stat().st_size > 1000, variant
    assert (out / "saved_model" / "saved_model.pb").is_file()
    table = (out / "report.md").read_text()
    for variant in TFLITE_VARIANTS:
        assert f"\n| {variant} | `tflite/model_{variant}.tflite` |" in table, variant
    report = json.loads((out / "report.json").read_text())
    # measured on the held-out test split, per class, for Keras and every variant
    evaluation = report["evaluation"]
    assert report["split"] == "test" and list(evaluation["models"]) == ["keras", *TFLITE_VARIANTS]
    for name, summary in evaluation["models"].items():
        assert list(summary["per_class"]) == report["class_names"], name
        assert (out / "evaluation" / f"confusion_matrix_{name}.png").stat().st_size > 1000
    sizes = {row["variant"]: row["model_bytes"] for row in report["variants"]}  # no metadata
    assert sizes["int8"] <= 0.35 * sizes["float32"]
    return report


@pytest.mark.parametrize(("name", "answers"), VARIANTS, ids=[v[0] for v in VARIANTS])
def test_readme_installs_tests_trains_predicts_and_exports(render_project, tmp_path, name, answers):
    task, hardware = answers["task"], answers["hardware"]
    project = render_project(name, **answers)
    python = project_env(project, tmp_path)
    assert (python.parent / f"{name.replace('_', '-')}-train").exists(), "console script installed"

    # PYTEST_ADDOPTS=-v only makes pytest name each test in its output
    tests = run_readme(python, project, "test", extra_env={"PYTEST_ADDOPTS": "-v"})
    assert "failed" not in tests.stdout.splitlines()[-1]
    if answers["goal"] == "production":  # serving: http by default, the service's tests ran
        for test in [
            "test_service_answers_as_the_predict_command_does",
            "test_concurrent_load_has_no_errors",
        ]:
            assert f"test_serve.py::{test} PASSED" in tests.stdout, test
    if hardware == "browser":
        # tensorflowjs is not in the main environment: its test must skip, and say why
        assert "SKIPPED" in tests.stdout and "tensorflowjs" in tests.stdout, tests.stdout[-3000:]

    run_readme(python, project, "train")  # TensorBoard on, as configured: it must be installed
    out = project / "artifacts"
    assert list((out / "tensorboard").rglob("events.out.tfevents.*")), "TensorBoard logs"
    assert (out / "training_curves.png").stat().st_size > 1000
    report = _check_export(out)
    assert report["keras_accuracy"] >= 0.8, report
    assert report["evaluation"]["warnings"] == [], report["evaluation"]["warnings"]
    if task == "text-classification":  # the sample is learnable but not trivially separable
        assert report["keras_accuracy"] < 0.99, report
    extra = ["vocab.txt"] if task == "text-classification" else []
    for name_ in ["labels.txt", "metadata.json", *extra]:
        assert (out / "tflite" / name_).is_file(), name_

    predicted = run_readme(python, project, "predict")
    assert predicted.stdout.strip()
    if task == "text-classification":  # "what a great match tonight"
        assert "sports" in predicted.stdout.split(":")[-1].split(",")[0], predicted.stdout

    # the README's benchmark of every variant under LiteRT (every target, not only edge)
    bench_all = run_readme(python, project, "benchmark")
    for variant in TFLITE_VARIANTS:  # two thread counts each
        assert bench_all.stdout.count(f"model_{variant}.tflite |") == 2, bench_all.stdout
    print(f"\n{name} LiteRT latency here:\n{bench_all.stdout}")

    # Training already exported; the README's own export command is re-run on one variant
    # only (~27 s each): the export code is the same for every device target.
    if hardware == "mobile":
        (out / "report.json").unlink()
        run_readme(python, project, "export")
        assert _check_export(out)["keras_accuracy"] == report["keras_accuracy"]

    if hardware == "edge":
        bundle = out / "edge"
        assert (bundle / "model_int8.tflite").is_file() and (bundle / "vocab.txt").is_file()
        deploy = json.loads((bundle / "metadata.json").read_text())["deploy"]
        assert deploy["model"] == "model_int8.tflite" and deploy["num_threads"] >= 1
        # The README runs the benchmark on the device after copying the bundle there; this is
        # the same command on the bundle where training left it.
        bench = run_step(
            python,
            ["-m", f"{name}.benchmark", str(bundle / "model_int8.tflite"), "--runs", "50"],
            project,
            "benchmark (LiteRT)",
        )
        assert "p99 ms" in bench.stdout, bench.stdout
