"""Layer 5 for the torch-lightning stack: the GPU configs, through the README's commands.

Each project is installed, tested (DDP on 2 CPU processes included), fitted for the
README's quick check, used for prediction and exported by the README's own command blocks,
run as written, offline, in an environment built only from what the project declares
(stack_env.py).
"""

from __future__ import annotations

import pytest

from tests.integration.stack_env import project_env, run_readme

pytestmark = pytest.mark.integration

# (project name, answers): also walked by test_declared_imports.py
VARIANTS = [
    (
        f"tl_{task.split('-')[0]}_{hardware.replace('-', '')}",
        {
            "stack": "torch-lightning",
            "task": task,
            "hardware": hardware,
            "goal": "research",
            "tracking": tracking,
            "serving": serving,
        },
    )
    for task, hardware, tracking, serving in [
        ("custom", "gpu", "csv", "none"),
        # the service too: its tests (parity with predict, bad requests, load) in the suite
        ("image-classification", "multi-gpu", "tensorboard", "http"),
    ]
]


@pytest.mark.parametrize(("name", "answers"), VARIANTS, ids=[v[0] for v in VARIANTS])
def test_readme_installs_tests_fits_predicts_and_exports(render_project, tmp_path, name, answers):
    project = render_project(name, **answers)
    python = project_env(project, tmp_path)

    # The project's own suite: fast_dev_run, overfit, resume, export parity, DDP (gloo), GPU skips.
    # PYTEST_ADDOPTS=-v only makes pytest name each test in its output.
    result = run_readme(python, project, "test", extra_env={"PYTEST_ADDOPTS": "-v"})
    output = result.stdout + result.stderr
    assert "test_ddp_two_processes_on_cpu PASSED" in output
    assert "test_overfits_one_batch PASSED" in output
    assert "test_exports_match_eager PASSED" in output
    assert "test_resume_with_more_epochs_keeps_decaying_the_lr PASSED" in output
    assert "test_class_names_reach_predictions_and_export PASSED" in output
    # fit --tune (Lightning's LR and batch-size finders) and the Optuna search (issue 16)
    assert "test_lr_finder_writes_a_plot_and_a_config_that_fit_reuses PASSED" in output
    assert "test_batch_size_finder_doubles_up_to_its_limit_then_fit_uses_it PASSED" in output
    assert (
        "test_search_saves_the_study_and_a_best_config_that_fit_accepts_and_resumes PASSED"
        in output
    )
    if answers["serving"] == "http":
        assert "test_images_are_decoded_as_the_predict_command_decodes_them PASSED" in output
        assert "test_concurrent_load_has_no_errors PASSED" in output
    assert (
        "test_fit_on_one_gpu_in_bf16 SKIPPED" in output
        or "test_fit_on_one_gpu_in_bf16 PASSED" in output
    )

    run_readme(python, project, "train")
    artifacts = project / "artifacts"
    # the run folder that artifacts/runs/latest.txt names (what predict and export use)
    run = artifacts / "runs" / (artifacts / "runs" / "latest.txt").read_text().strip()
    assert (run / "checkpoints" / "last.ckpt").is_file()
    assert list((run / "checkpoints").glob("best-*.ckpt"))
    assert (run / "curves.png").stat().st_size > 1000
    run_dir = run / "logs" / "version_0"
    if answers["tracking"] == "csv":
        header = (run_dir / "metrics.csv").read_text().splitlines()[0].split(",")
        assert {"train_loss", "val_loss", "val_acc", "train_samples_per_sec"} <= set(header)
    else:
        assert list(run_dir.glob("events.out.tfevents.*"))
    assert (run_dir / "config.yaml").is_file()

    run_readme(python, project, "predict")
    rows = (artifacts / "predictions.csv").read_text().splitlines()
    assert rows[0].split(",")[:2] == ["index", "source"] and len(rows) > 100, rows[:3]

    output = run_readme(python, project, "export")
    assert "max |diff|" in output.stdout + output.stderr
    assert (artifacts / "export" / "model.onnx").is_file()
    assert (artifacts / "export" / "model.pt2").is_file()
    labels = (artifacts / "export" / "labels.txt").read_text().splitlines()
    assert labels == [str(digit) for digit in range(10)]  # the bundled sample's classes
    assert (artifacts / "export" / "metadata.json").is_file()
