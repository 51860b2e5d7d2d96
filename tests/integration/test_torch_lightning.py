"""Integration: generated torch-lightning projects install, pass their own tests and train.

Each project is installed into a throw-away venv over the cached stack environment
(stack_env.py) and run offline: its own pytest suite (DDP on 2 CPU processes included), then
a short `fit` from the command line, then export.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.integration import stack_env

pytestmark = pytest.mark.integration


def _step(name: str, python: Path, args: list[str], cwd: Path, timeout: float = 600) -> str:
    result = stack_env.run_step(python, args, cwd, name, timeout=timeout)
    return result.stdout + result.stderr


@pytest.mark.parametrize(
    ("task", "hardware", "tracking"),
    [("custom", "gpu", "csv"), ("image-classification", "multi-gpu", "tensorboard")],
)
def test_generated_project_tests_fit_and_export(render_project, tmp_path, task, hardware, tracking):
    start = time.perf_counter()
    project = render_project(
        "tl-project",
        package_name="tl_project",
        stack="torch-lightning",
        task=task,
        hardware=hardware,
        goal="research",
        tracking=tracking,
    )
    print(f"[torch-lightning] render: {time.perf_counter() - start:.1f} s")

    start = time.perf_counter()
    python = stack_env.project_env(project, tmp_path / "env")
    print(f"[torch-lightning] install: {time.perf_counter() - start:.1f} s")

    # The project's own suite: fast_dev_run, overfit, resume, export parity, DDP (gloo), GPU skips.
    output = _step(
        "project pytest", python, ["-m", "pytest", "-v", "-p", "no:cacheprovider"], project
    )
    print(f"[torch-lightning] project pytest summary: {output.strip().splitlines()[-1]}")
    assert "test_ddp_two_processes_on_cpu PASSED" in output
    assert "test_overfits_one_batch PASSED" in output
    assert "test_exports_match_eager PASSED" in output
    assert "test_resume_with_more_epochs_keeps_decaying_the_lr PASSED" in output
    assert "test_class_names_reach_predictions_and_export PASSED" in output
    assert (
        "test_fit_on_one_gpu_in_bf16 SKIPPED" in output
        or "test_fit_on_one_gpu_in_bf16 PASSED" in output
    )

    # A short fit from the command line, with the shipped configs and CPU overrides.
    _step(
        "fit (2 epochs)",
        python,
        [
            "-m",
            "tl_project",
            "fit",
            "--trainer.max_epochs=2",
            "--trainer.accelerator=cpu",
            "--trainer.precision=32-true",
            "--trainer.enable_progress_bar=false",
        ],  # fmt: skip
        project,
    )
    artifacts = project / "artifacts"
    assert (artifacts / "checkpoints" / "last.ckpt").is_file()
    assert list((artifacts / "checkpoints").glob("best-*.ckpt"))
    assert (artifacts / "curves.png").stat().st_size > 1000
    run_dir = artifacts / "logs" / "tl_project" / "version_0"
    if tracking == "csv":
        header = (run_dir / "metrics.csv").read_text().splitlines()[0].split(",")
        assert {"train_loss", "val_loss", "val_acc", "train_samples_per_sec"} <= set(header)
    else:
        assert list(run_dir.glob("events.out.tfevents.*"))
    assert (run_dir / "config.yaml").is_file()

    output = _step(
        "export",
        python,
        ["-m", "tl_project.export", "--ckpt", "artifacts/checkpoints/last.ckpt"],
        project,
    )
    assert "max |diff|" in output
    assert (artifacts / "export" / "model.onnx").is_file()
    assert (artifacts / "export" / "model.pt2").is_file()
    labels = (artifacts / "export" / "labels.txt").read_text().splitlines()
    assert labels == [str(digit) for digit in range(10)]  # the bundled sample's classes
    assert (artifacts / "export" / "metadata.json").is_file()
