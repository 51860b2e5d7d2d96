"""Layer 5 for the tf-tflite stack: the device targets, TPU and text, through the README.

Each project is installed, tested, trained (with the README's quick run for images, the
default for text), used for prediction under LiteRT and re-exported by the README's own
command blocks, run as written, offline, in an environment built only from what the
project declares (stack_env.py).
"""

from __future__ import annotations

import json
import re

import pytest

from tests.integration import side_envs
from tests.integration.stack_env import project_env, run_readme, run_step

pytestmark = pytest.mark.integration

TFLITE_VARIANTS = ("float32", "float16", "dynamic_range", "int8")
# The generated tests that must run (not skip) where their tools are there: MediaPipe reads
# the metadata (image projects' dev extra); TF.js converts and runs under Node (browser).
MEDIAPIPE_TESTS = [
    f"test_mediapipe.py::test_{test}[{variant}] PASSED"
    for test in (
        "mediapipe_reads_labels_and_input_rule_and_agrees_with_litert",
        "mediapipe_on_the_trained_models",
    )
    for variant in ("float32", "float16", "dynamic_range")
]
TFJS_TESTS = [
    f"test_tfjs.py::test_{test} PASSED"
    for test in (
        "saved_model_converts_to_tfjs_graph_model",
        "tfjs_in_node_gives_what_keras_gives",
        "javascript_preprocessing_follows_the_training_rule",
    )
]
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
    if hardware == "browser":
        # What the README has a web user set up once: the converter's `.venv-tfjs` (over a
        # cached env built from requirements-tfjs.txt) and web/'s npm packages (`npm ci`, npm
        # cache kept per lock file), so the project's own TF.js tests run instead of skipping.
        assert side_envs.have_node(), "Node.js and npm are needed for the browser parity check"
        side_envs.tfjs_venv(project)
        side_envs.run_npm(project / "web", "ci")

    # PYTEST_ADDOPTS=-v only makes pytest name each test in its output
    tests = run_readme(python, project, "test", extra_env={"PYTEST_ADDOPTS": "-v"})
    assert "failed" not in tests.stdout.splitlines()[-1]
    if answers["goal"] == "production":  # serving: http by default, the service's tests ran
        for test in [
            "test_service_answers_as_the_predict_command_does",
            "test_concurrent_load_has_no_errors",
        ]:
            assert f"test_serve.py::{test} PASSED" in tests.stdout, test
    if task != "text-classification":  # MediaPipe Tasks read the metadata back
        for test in MEDIAPIPE_TESTS:
            assert test in tests.stdout, (test, tests.stdout[-3000:])
    if hardware == "browser":  # converted in .venv-tfjs, run under Node, held to Keras
        for test in TFJS_TESTS:
            assert test in tests.stdout, (test, tests.stdout[-3000:])
        assert "test_tfjs.py" not in "".join(
            line for line in tests.stdout.splitlines() if "SKIPPED" in line
        ), tests.stdout[-3000:]

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

    if hardware == "browser":  # the README's conversion and Node parity check, as written
        run_readme(python, project, "tfjs-convert")
        assert json.loads((out / "tfjs" / "model.json").read_text())["format"] == "graph-model"
        check = run_readme(
            python, project, "browser-check", extra_env=side_envs.npm_env(project / "web")
        )
        assert "browser parity: passed" in check.stdout, check.stdout
        model_line = re.search(r"^model: (\d+) test examples, max \|Δp\| (\S+)", check.stdout, re.M)
        assert model_line and int(model_line.group(1)) > 0, check.stdout
        assert float(model_line.group(2)) <= 1e-4, check.stdout
        print(f"\n{name} TF.js in Node vs Keras:\n{check.stdout}")

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
