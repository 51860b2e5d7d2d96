"""The user's path on messy data, torch-lightning: the README's "Your own data" steps and after.

A generated project is installed (stack_env.project_env) and driven from the command line
exactly as its README says, on data this test draws itself (tests/integration/
messy_images.py: mixed sizes and modes, WebP, a corrupt JPEG, an empty class folder,
non-ASCII class names, one of them in NFD). Each step must give a correct result or one
clear error line, never a traceback:

1. fit on the folder at a non-default image size (the corrupt file and empty folder are
   skipped and named);
2. a second, fresh fit with an experiment file (configs/experiment/long.yaml) and
   `--trainer.logger=false` (must not crash in LearningRateMonitor): its own run folder,
   which becomes the latest, so predict and export can no longer use the first run;
3. resume with `--ckpt_path last` and no data flags (the latest run, in its folder, with the
   checkpoint's data settings);
4. predict on a folder of new images with the checkpoint (its preprocessing, not the digits
   sample's, not data.yaml's 64x64), and a contradicting `--data.image_size` refused;
5. export (ONNX + torch.export) with the classes and input shape of the user's data;
6. task=custom: fit on an .npz of tabular-like tensors, then predict on new rows.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import pytest

from tests.integration import messy_images, stack_env

pytestmark = pytest.mark.integration

CPU = [
    "--trainer.accelerator=cpu",
    "--trainer.enable_progress_bar=false",
    "--trainer.enable_model_summary=false",
]
# Reads a checkpoint with the project's torch: the generator's own environment has none.
CKPT_INFO = """
import json, sys, torch
ckpt = torch.load(sys.argv[1], map_location="cpu", weights_only=True)
hp, data = ckpt["hyper_parameters"], ckpt.get("datamodule_hyper_parameters", {})
print(json.dumps({
    "epoch": ckpt["epoch"], "global_step": ckpt["global_step"],
    "class_names": hp.get("class_names"), "input_shape": list(hp["input_shape"]),
    "resize": (hp.get("preprocessing") or {}).get("resize"), "data": dict(data),
    "lr": hp.get("lr"),
}, ensure_ascii=False))
"""


def _step(python: Path, args: list[str], cwd: Path, label: str, timings: dict[str, float]) -> str:
    """A step that must succeed, without a traceback; returns its stderr."""
    result = stack_env.run_step(python, args, cwd, label, timings)
    assert "Traceback" not in result.stderr, f"{label}:\n{result.stderr[-3000:]}"
    return result.stderr


def _refused(python: Path, args: list[str], cwd: Path) -> str:
    """A step that must fail with one `error: ...` line and no traceback; returns that line."""
    result = stack_env.run_in(python, args, cwd)
    assert result.returncode == 2, (result.returncode, result.stderr[-3000:])
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: "), result.stderr[-3000:]
    return last


def _ckpt(python: Path, path: Path) -> dict:
    result = stack_env.run_in(python, ["-c", CKPT_INFO, str(path)], path.parent)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _latest(project: Path) -> Path:
    """The latest run's folder (artifacts/runs/latest.txt, read as the project's code does)."""
    runs = project / "artifacts" / "runs"
    return runs / (runs / "latest.txt").read_text(encoding="utf-8").strip()


def _predictions(project: Path) -> list[dict[str, str]]:
    with open(project / "artifacts" / "predictions.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_image_folder_fit_second_run_resume_predict_export(render_project, tmp_path):
    started = time.perf_counter()
    project = render_project(
        "tl-messy", package_name="tl_messy", stack="torch-lightning", task="image-classification"
    )
    python = stack_env.project_env(project, tmp_path / "env")
    readme = (project / "README.md").read_text(encoding="utf-8")
    fit_cmd = "python -m tl_messy fit --data.data_dir=data/my-images"
    predict_cmd = "python -m tl_messy predict --data.predict_dir=data/new-images"
    export_cmd = "python -m tl_messy.export --ckpt last"
    # The steps below are the README's own commands (plus short-run flags): keep them in sync.
    for command in (fit_cmd, "python -m tl_messy fit --ckpt_path last", predict_cmd, export_cmd):
        assert command in readme, f"README.md no longer documents `{command}`"

    drawn = Path(messy_images.__file__)
    made = stack_env.run_in(python, [str(drawn), "folder", "data/my-images"], project)
    assert made.returncode == 0, made.stderr
    made = stack_env.run_in(python, [str(drawn), "new", "data/new-images"], project)
    assert made.returncode == 0, made.stderr
    truth = json.loads(made.stdout)
    timings: dict[str, float] = {}

    # 1. fit at 24x24 (data.yaml says 64): the corrupt file and the empty folder are named.
    # configs/tiny.yaml stands in for the pretrained backbone (no hub here): the same ResNet
    # architecture from its config; predict and export then read it from the checkpoint.
    tiny = "--config=configs/tiny.yaml"
    # The small CNN (backbone: scratch) in batches of 4: from random weights the ResNet needs
    # more than these few steps to learn bright vs dark (5/8 right on new images); a resume
    # and predict without the flag must build the scratch network from the checkpoint.
    small_batches = "--data.batch_size=4"
    fit = ["-m", "tl_messy", "fit", tiny, "--data.data_dir=data/my-images", "--data.image_size=24"]
    fit += ["--model.backbone=scratch", small_batches]
    err = _step(python, [*fit, "--trainer.max_epochs=2", *CPU], project, "fit", timings)
    assert "skipped 1 unreadable image" in err and messy_images.CORRUPT in err, err[-2000:]
    assert messy_images.EMPTY in err, err[-2000:]
    first_run = _latest(project)
    first = _ckpt(python, first_run / "checkpoints" / "last.ckpt")
    assert first["class_names"] == messy_images.CLASSES  # NFC names, no empty class
    assert first["input_shape"] == [3, 24, 24] and first["resize"] == [24, 24]
    assert first["epoch"] == 1

    # 2. a second, fresh fit (an experiment file, no logger): a new run folder, the latest.
    experiment = ["--config", "configs/experiment/long.yaml"]
    second_fit = [*fit, *experiment, "--trainer.max_epochs=1", "--trainer.logger=false", *CPU]
    err = _step(python, second_fit, project, "fit again, experiment, logger=false", timings)
    assert "LearningRateMonitor is off" in err, err[-2000:]
    second_run = _latest(project)
    assert second_run != first_run and (first_run / "checkpoints" / "last.ckpt").is_file()
    last = second_run / "checkpoints" / "last.ckpt"
    second = _ckpt(python, last)
    assert (second["epoch"], second["global_step"]) == (0, first["global_step"] // 2)
    assert second["lr"] == 0.001  # the experiment's, on top of model.yaml's

    # 3. resume with no data flags: the checkpoint's folder and image size, not the sample's.
    resume = ["-m", "tl_messy", "fit", tiny, "--ckpt_path", "last", "--trainer.max_epochs=2"]
    resume += [small_batches, *CPU]
    err = _step(python, resume, project, "resume", timings)
    assert "image_size=24" in err, err[-2000:]
    assert _latest(project) == second_run  # resumed in its own folder
    resumed = _ckpt(python, last)
    assert resumed["epoch"] == 1 and resumed["global_step"] == first["global_step"]
    assert resumed["resize"] == [24, 24] and resumed["data"]["image_size"] == 24

    # 4. predict new images (sub-folder, other sizes and modes) with the checkpoint.
    predict = predict_cmd.split()[1:]
    err = _step(python, predict, project, "predict", timings)
    assert "image_size=24" in err, err[-2000:]
    rows = _predictions(project)
    assert sorted(row["source"] for row in rows) == sorted(truth)
    assert {row["class"] for row in rows} <= set(messy_images.CLASSES)
    right = sum(row["class"] == truth[row["source"]] for row in rows)
    assert right >= 0.75 * len(rows), rows  # bright vs dark: learnt, if fed as trained
    line = _refused(python, [*predict, "--data.image_size=64"], project)
    assert "image_size=64" in line and "image_size=24" in line, line

    # 5. export: the user's classes and input shape, UTF-8 labels.
    out = _step(python, export_cmd.split()[1:], project, "export", timings)
    export = project / "artifacts" / "export"
    labels = (export / "labels.txt").read_text(encoding="utf-8").splitlines()
    assert labels == messy_images.CLASSES, (labels, out)
    metadata = json.loads((export / "metadata.json").read_text(encoding="utf-8"))
    assert metadata["input"]["shape"] == ["batch", 3, 24, 24]
    assert metadata["preprocessing"]["resize"] == [24, 24]
    assert (export / "model.onnx").is_file() and (export / "model.pt2").is_file()
    print(f"[torch-lightning messy images] {time.perf_counter() - started:.1f} s: {timings}")


# Writes the README's `np.savez("data/train.npz", x=inputs, y=labels)` with messy contents:
# float features on different scales, rare and non-ASCII class names, then rows to predict.
CUSTOM_DATA = """
import numpy as np
from pathlib import Path
rng = np.random.default_rng(0)
n = 150
y = rng.choice(3, size=n, p=[0.6, 0.3, 0.1])  # imbalanced, one rare class
x = rng.normal(size=(n, 5)) * [1, 10, 100, 0.1, 1]
x[:, 0] += 3 * y  # learnable from the first feature
Path("data").mkdir(exist_ok=True)
np.savez("data/train.npz", x=x, y=y, classes=np.array(["bas", "moyen", "élevé"]))
np.savez("data/new.npz", x=rng.normal(size=(7, 5)))
np.savez("data/wrong.npz", x=rng.normal(size=(4, 6)))
"""


def test_custom_tensors_fit_then_predict(render_project, tmp_path):
    started = time.perf_counter()
    project = render_project(
        "tl-custom", package_name="tl_custom", stack="torch-lightning", task="custom"
    )
    python = stack_env.project_env(project, tmp_path / "env")
    readme = (project / "README.md").read_text(encoding="utf-8")
    predict_cmd = "python -m tl_custom predict --data.predict_path=data/new.npz"
    for command in ("python -m tl_custom fit --data.data_path=data/train.npz", predict_cmd):
        assert command in readme, f"README.md no longer documents `{command}`"
    made = stack_env.run_in(python, ["-c", CUSTOM_DATA], project)
    assert made.returncode == 0, made.stderr
    timings: dict[str, float] = {}

    fit = ["-m", "tl_custom", "fit", "--data.data_path=data/train.npz", "--trainer.max_epochs=2"]
    _step(python, [*fit, *CPU], project, "fit", timings)
    # The README's predict: no data flags, so the checkpoint must say the input is (5,).
    err = _step(python, predict_cmd.split()[1:], project, "predict", timings)
    assert "data_path=data/train.npz" in err, err[-2000:]
    rows = _predictions(project)
    assert [row["index"] for row in rows] == [str(i) for i in range(7)]
    assert {row["class"] for row in rows} <= {"bas", "moyen", "élevé"}
    assert all(0.0 < float(row["prob"]) <= 1.0 for row in rows)
    wrong = [*predict_cmd.split()[1:-1], "--data.predict_path=data/wrong.npz"]
    line = _refused(python, wrong, project)
    assert "wrong.npz" in line and "(6,)" in line and "(5,)" in line, line
    print(f"[torch-lightning messy custom] {time.perf_counter() - started:.1f} s: {timings}")
