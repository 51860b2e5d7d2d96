"""Render tests of torch-lightning's object-detection task (templates/_torch-lightning-detection)."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.render.checks import SHARED_FILES, assert_python_is_clean, assert_text_is_clean, file_set
from tests.render.test_serving import _hadolint

PKG = "demo_det"

COMMON = [
    *SHARED_FILES,
    "configs/data.yaml",
    "configs/model.yaml",
    "configs/tiny.yaml",
    "configs/trainer.yaml",
    f"src/{PKG}/__init__.py",
    f"src/{PKG}/__main__.py",
    f"src/{PKG}/boxes.py",
    f"src/{PKG}/callbacks.py",
    f"src/{PKG}/cli.py",
    f"src/{PKG}/data.py",
    f"src/{PKG}/export.py",
    f"src/{PKG}/metrics.py",
    f"src/{PKG}/module.py",
    f"src/{PKG}/shapes.py",
    "tests/cli_helpers.py",
    "tests/conftest.py",
    "tests/test_data.py",
    "tests/test_train.py",
]
GITHUB = [".github/workflows/ci.yml", ".github/dependabot.yml"]
GITLAB = [".gitlab-ci.yml"]
SERVING = [".dockerignore", "Dockerfile", f"src/{PKG}/serve.py", "tests/test_serve.py"]

# (hardware, tracking, goal, ci, serving) -> exact file set; serving None: the default
# (http for goal=production, none otherwise)
VARIANTS = {
    ("cpu", "csv", "prototype", "github", None): COMMON + GITHUB,
    ("gpu", "tensorboard", "research", "gitlab", "http"): COMMON + GITLAB + SERVING,
    ("multi-gpu", "mlflow", "production", "none", None): COMMON + SERVING,
    ("cpu", "csv", "production", "github", "none"): COMMON + GITHUB,
}
HUB_MODEL = {
    "cpu": "PekingU/rtdetr_v2_r18vd",
    "gpu": "PekingU/rtdetr_v2_r50vd",
    "multi-gpu": "PekingU/rtdetr_v2_r50vd",
}


@pytest.mark.parametrize(
    ("hardware", "tracking", "goal", "ci", "serving"),
    list(VARIANTS),
    ids=["-".join(v[:4] + (v[4] or "default",)) for v in VARIANTS],
)
def test_variant(render_project, hardware, tracking, goal, ci, serving) -> None:
    root: Path = render_project(
        "demo-det",
        package_name=PKG,
        stack="torch-lightning",
        task="object-detection",
        hardware=hardware,
        goal=goal,
        tracking=tracking,
        ci=ci,
        **({"serving": serving} if serving else {}),
    )
    assert file_set(root) == sorted(VARIANTS[(hardware, tracking, goal, ci, serving)])
    served = f"src/{PKG}/serve.py" in VARIANTS[(hardware, tracking, goal, ci, serving)]
    assert_text_is_clean(root)
    assert_python_is_clean(root)
    for rel in file_set(root):
        if rel.endswith((".yml", ".yaml")):
            yaml.safe_load((root / rel).read_text())

    deps = tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.split(r"[<>=!\[ ]", d, maxsplit=1)[0].lower() for d in deps}
    assert "torch>=2.4,<2.14" in deps
    # no torchvision (no wheel for the local torch), no AGPL detector (Ultralytics)
    assert not names & {"torchvision", "ultralytics", "scikit-learn", "matplotlib"}
    assert {
        "lightning",
        "transformers",
        "scipy",
        "faster-coco-eval",
        "pillow",
        "onnxruntime",
    } <= names
    assert ("tensorboard" in names) == (tracking == "tensorboard")
    assert ("mlflow" in names) == (tracking == "mlflow")

    model = yaml.safe_load((root / "configs/model.yaml").read_text())["model"]
    assert model["pretrained"] == HUB_MODEL[hardware]
    tiny = yaml.safe_load((root / "configs/tiny.yaml").read_text())
    assert tiny["model"]["pretrained"] is None and tiny["data"]["format"] == "shapes"
    trainer = yaml.safe_load((root / "configs/trainer.yaml").read_text())["trainer"]
    callbacks = {
        c["class_path"].rsplit(".", 1)[-1]: c.get("init_args", {}) for c in trainer["callbacks"]
    }
    assert callbacks["ModelCheckpoint"]["monitor"] == "val_map_50"
    assert callbacks["ModelCheckpoint"]["mode"] == "max"
    assert callbacks["DetectionWriter"]["path"] == "artifacts/predictions.json"
    assert (trainer["accelerator"], trainer["precision"]) == (
        ("cpu", "32-true") if hardware == "cpu" else ("gpu", "bf16-mixed")
    )
    assert ("strategy" in trainer) == (hardware == "multi-gpu")

    # the HTTP service: LitServe on the ONNX export, images in, the predict command's fields out
    assert ("\nserve:" in (root / "Makefile").read_text()) == served
    assert ({"litserve", "fastapi", "pydantic"} <= names) == served
    readme = (root / "README.md").read_text()
    assert ("## Serve it over HTTP" in readme) == served
    if served:
        assert '"score_threshold"' in readme and "boxes as `[x0, y0, x1, y1]`" in readme
        assert "--max-batch-size" not in readme  # batch-1 export: workers, not batching
        dockerfile = (root / "Dockerfile").read_text()
        assert f'"{PKG}.serve", "--model", "/app/model"' in dockerfile
        assert ("nvidia/cuda:" in dockerfile) == (hardware != "cpu")
        assert "!artifacts/export" in (root / ".dockerignore").read_text()
        result = subprocess.run(
            [_hadolint(), "--failure-threshold", "info", str(root / "Dockerfile")],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        ci_file = {"github": ".github/workflows/ci.yml", "gitlab": ".gitlab-ci.yml"}.get(ci)
        if ci_file:  # the image job trains the offline tiny preset, then exports what it serves
            text = (root / ci_file).read_text()
            assert f"-m {PKG} fit --config configs/tiny.yaml --trainer.max_epochs=1" in text
            assert f"-m {PKG}.export --ckpt artifacts/checkpoints/last.ckpt" in text
    for marker in ("install", "test", "train", "predict", "export"):
        assert f"<!-- cmd: {marker} -->" in readme
    assert f"python -m {PKG} fit --config configs/tiny.yaml" in readme
