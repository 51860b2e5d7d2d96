"""Layer 5 and 6 for torch-lightning's object-detection task, through the README's commands.

1. The README path: install, the project's own tests (a tiny RT-DETR must clear its mAP@0.5
   floor; the HTTP service answers as predict does), the offline quick-check fit, predict (JSON + PNG) and the ONNX export (parity in
   ONNX Runtime), each block run as written, offline, in an environment built only from what
   the project declares (stack_env.py).
2. The user's own messy data ("Your own data"): a COCO-JSON dataset with an image without
   boxes, a box reaching out of its image, one wholly outside, a class absent from
   validation; fit, validate and predict from the checkpoint with no data flags; then the
   same folder with a corrupt image, which must be one `error:` line (exit 2), no traceback.
"""

from __future__ import annotations

import json

import pytest

from tests.integration import stack_env
from tests.integration.stack_env import project_env, run_readme

pytestmark = pytest.mark.integration

# (project name, answers): also walked by test_declared_imports.py
VARIANTS = [
    (
        "tl_detect_gpu",
        {
            "stack": "torch-lightning",
            "task": "object-detection",
            "hardware": "gpu",
            "goal": "research",
            "tracking": "csv",
            "serving": "http",  # its own suite runs tests/test_serve.py
        },
    )
]
CPU = [
    "--trainer.accelerator=cpu",
    "--trainer.precision=32-true",
    "--trainer.enable_progress_bar=false",
]


def test_readme_installs_tests_fits_predicts_and_exports(render_project, tmp_path) -> None:
    name, answers = VARIANTS[0]
    project = render_project(name, **answers)
    python = project_env(project, tmp_path)

    result = run_readme(python, project, "test", extra_env={"PYTEST_ADDOPTS": "-v"})
    output = result.stdout + result.stderr
    for test in (
        "test_fit_clears_the_map_floor",
        "test_predict_writes_json_and_pngs",
        "test_export_matches_eager_in_onnx_runtime",
        "test_from_pretrained_gets_a_new_label_map",
        "test_a_corrupt_image_is_one_named_error",
        # the HTTP service on the ONNX export (serving: http)
        "test_service_answers_as_the_predict_command_does",
        "test_the_default_threshold_is_the_checkpoints",
        "test_bad_requests_get_a_4xx_json_error[not base64]",
        "test_bad_requests_get_a_4xx_json_error[too many pixels]",
        "test_concurrent_load_has_no_errors",
    ):
        assert f"{test} PASSED" in output, output[-3000:]

    run_readme(python, project, "train")
    artifacts = project / "artifacts"
    assert (artifacts / "checkpoints" / "last.ckpt").is_file()
    header = (artifacts / "logs" / name / "version_0" / "metrics.csv").read_text().splitlines()[0]
    assert {"train_loss", "val_loss", "val_map", "val_map_50"} <= set(header.split(","))

    run_readme(python, project, "predict")
    rows = json.loads((artifacts / "predictions.json").read_text())
    assert rows and {"image", "width", "height", "detections"} <= set(rows[0])
    assert len(list((artifacts / "predictions").glob("*.png"))) == len(rows)

    output = run_readme(python, project, "export")
    assert "max |diff|" in output.stdout + output.stderr
    metadata = json.loads((artifacts / "export" / "metadata.json").read_text())
    assert metadata["class_names"] == ["square", "circle", "triangle"]
    assert (artifacts / "export" / "model.onnx").is_file()


# Written with the project's own python (Pillow is the project's, not the generator's).
MESSY = r"""
import json, sys
from pathlib import Path
from PIL import Image, ImageDraw
root = Path(sys.argv[1])
def make(split, n, classes, empty=()):
    folder = root / split
    folder.mkdir(parents=True)
    images, annotations = [], []
    for i in range(n):
        size = (96, 72) if i % 2 else (64, 80)
        image = Image.new("RGB", size, (230, 230, 230))
        pen = ImageDraw.Draw(image)
        images.append({"id": i + 1, "file_name": f"img {i:02d}.jpg", "width": size[0], "height": size[1]})
        if i not in empty:
            cat = classes[i % len(classes)]
            x, y = 5 + (i * 7) % 30, 5 + (i * 5) % 30
            pen.rectangle([x, y, x + 24, y + 24], fill=[(200, 30, 30), (30, 30, 200), (30, 160, 30)][cat - 1])
            annotations.append({"id": len(annotations) + 1, "image_id": i + 1, "category_id": cat, "bbox": [x, y, 24, 24], "area": 576, "iscrowd": 0})
        image.save(folder / f"img {i:02d}.jpg")
    if split == "train":  # a box reaching out of image 1, and one wholly outside image 2
        annotations.append({"id": 900, "image_id": 1, "category_id": 1, "bbox": [50, 60, 40, 40], "area": 1, "iscrowd": 0})
        annotations.append({"id": 901, "image_id": 2, "category_id": 2, "bbox": [500, 500, 10, 10], "area": 1, "iscrowd": 0})
    categories = [{"id": 1, "name": "rouge"}, {"id": 2, "name": "bleu"}, {"id": 3, "name": "vert"}]
    (folder / "annotations.json").write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
make("train", 24, [1, 2, 3], empty=(3, 4))
make("val", 8, [1, 2])  # "vert" never appears in validation
"""


def test_messy_coco_data_fits_validates_predicts_and_names_a_corrupt_image(
    render_project, tmp_path
) -> None:
    name, answers = VARIANTS[0]
    project = render_project(name, **answers)
    python = project_env(project, tmp_path / "env")
    stack_env.run_in(python, ["-c", MESSY, "data"], project)
    timings: dict[str, float] = {}
    own = [
        "--data.format=coco",
        "--data.train=data/train/annotations.json",
        "--data.val=data/val/annotations.json",
    ]
    fit = stack_env.run_step(
        python,
        [
            "-m",
            "tl_detect_gpu",
            "fit",
            "--config",
            "configs/tiny.yaml",
            *own,
            *CPU,
            "--trainer.max_epochs=2",
        ],
        project,
        "fit",
        timings,
    )
    assert "1 box(es) clipped to their image, 1 outside it dropped" in fit.stderr + fit.stdout
    ckpt = "artifacts/checkpoints/last.ckpt"
    validate = stack_env.run_step(
        python,
        ["-m", "tl_detect_gpu", "validate", "--ckpt_path", ckpt, *CPU],
        project,
        "validate",
        timings,
    )
    assert "val_map_50" in validate.stdout + validate.stderr
    new = project / "data" / "val"
    stack_env.run_step(
        python,
        ["-m", "tl_detect_gpu", "predict", "--ckpt_path", ckpt, f"--data.predict_dir={new}", *CPU],
        project,
        "predict",
        timings,
    )
    rows = json.loads((project / "artifacts" / "predictions.json").read_text())
    assert sorted(r["image"] for r in rows)[0] == "img 00.jpg" and len(rows) == 8

    (project / "data" / "train" / "img 05.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    broken = stack_env.run_in(
        python, ["-m", "tl_detect_gpu", "fit", "--config", "configs/tiny.yaml", *own, *CPU], project
    )
    assert broken.returncode == 2, broken.stderr[-2000:]
    lines = broken.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and "img 05.jpg: cannot decode the image" in lines[-1]
    assert "Traceback" not in broken.stderr
    print(timings)
