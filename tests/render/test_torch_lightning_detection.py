"""Render tests of torch-lightning's object-detection task (templates/_torch-lightning-detection)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.render.checks import SHARED_FILES, assert_python_is_clean, assert_text_is_clean, file_set

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

# (hardware, tracking, goal, ci) -> exact file set
VARIANTS = {
    ("cpu", "csv", "prototype", "github"): COMMON + GITHUB,
    ("gpu", "tensorboard", "research", "gitlab"): COMMON + GITLAB,
    ("multi-gpu", "mlflow", "production", "none"): COMMON,
}
HUB_MODEL = {
    "cpu": "PekingU/rtdetr_v2_r18vd",
    "gpu": "PekingU/rtdetr_v2_r50vd",
    "multi-gpu": "PekingU/rtdetr_v2_r50vd",
}


@pytest.mark.parametrize(
    ("hardware", "tracking", "goal", "ci"), list(VARIANTS), ids=["-".join(v) for v in VARIANTS]
)
def test_variant(render_project, hardware, tracking, goal, ci) -> None:
    root: Path = render_project(
        "demo-det",
        package_name=PKG,
        stack="torch-lightning",
        task="object-detection",
        hardware=hardware,
        goal=goal,
        tracking=tracking,
        ci=ci,
    )
    assert file_set(root) == sorted(VARIANTS[(hardware, tracking, goal, ci)])
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

    # no HTTP service for detection, even where goal=production defaults serving to http
    assert "serve" not in (root / "Makefile").read_text()
    assert not names & {"litserve", "fastapi"}
    readme = (root / "README.md").read_text()
    for marker in ("install", "test", "train", "predict", "export"):
        assert f"<!-- cmd: {marker} -->" in readme
    assert f"python -m {PKG} fit --config configs/tiny.yaml" in readme
