"""Render tests of the torch-lightning stack: every tracking, hardware and task value."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.render.checks import SHARED_FILES

PKG = "demo_tl"

COMMON = [
    *SHARED_FILES,
    "configs/data.yaml",
    "configs/model.yaml",
    "configs/trainer.yaml",
    # experiment management: run folders, experiments and debug configs (cli.py, runs.py)
    "configs/debug/anomaly.yaml",
    "configs/debug/fast_dev_run.yaml",
    "configs/debug/limit.yaml",
    "configs/debug/overfit.yaml",
    "configs/debug/profiler.yaml",
    "configs/experiment/baseline.yaml",
    "configs/experiment/ema.yaml",
    "configs/experiment/long.yaml",
    f"src/{PKG}/runs.py",
    "tests/test_runs.py",
    # LR/batch-size finders (fit --tune) and the Optuna search (python -m <pkg>.search)
    "configs/search/default.yaml",
    f"src/{PKG}/search.py",
    f"src/{PKG}/tune.py",
    "tests/test_search.py",
    "tests/test_tune.py",
    f"src/{PKG}/__init__.py",
    f"src/{PKG}/__main__.py",
    f"src/{PKG}/callbacks.py",
    f"src/{PKG}/cli.py",
    f"src/{PKG}/data.py",
    f"src/{PKG}/export.py",
    f"src/{PKG}/model.py",
    f"src/{PKG}/module.py",
    f"src/{PKG}/objectives.py",
    f"src/{PKG}/splits.py",
    "tests/cli_helpers.py",
    "tests/conftest.py",
    "tests/test_data.py",
    "tests/test_ddp.py",
    "tests/test_export.py",
    "tests/test_gpu.py",
    "tests/test_objectives.py",
    "tests/test_train.py",
]
GITHUB = [".github/workflows/ci.yml", ".github/dependabot.yml"]
GITLAB = [".gitlab-ci.yml"]
MULTI_GPU = ["scripts/slurm.sbatch", "scripts/torchrun.sh"]
# image-classification: Transformers backbones, fine-tuning, augmentation, the tiny preset
IMAGE = [
    "configs/tiny.yaml",
    "docs/transfer-learning.md",
    f"src/{PKG}/backbones.py",
    f"src/{PKG}/finetune.py",
    f"src/{PKG}/transforms.py",
    "tests/test_backbone.py",
]

# (task, hardware, tracking, ci) -> exact file set. Together they cover every value of
# task, hardware and tracking at least once, and every CI choice.
VARIANTS = {
    ("image-classification", "cpu", "csv", "github"): COMMON + IMAGE + GITHUB,
    ("custom", "gpu", "tensorboard", "gitlab"): COMMON + GITLAB,
    ("image-classification", "multi-gpu", "mlflow", "none"): COMMON + IMAGE + MULTI_GPU,
    ("custom", "multi-gpu", "wandb", "github"): COMMON + GITHUB + MULTI_GPU,
    ("image-classification", "gpu", "tensorboard", "github"): COMMON + IMAGE + GITHUB,
}

LOGGERS = {
    "csv": "lightning.pytorch.loggers.CSVLogger",
    "tensorboard": "lightning.pytorch.loggers.TensorBoardLogger",
    "mlflow": "lightning.pytorch.loggers.MLFlowLogger",
    "wandb": "lightning.pytorch.loggers.WandbLogger",
}
TRACKING_REQUIREMENT = {
    "csv": None,
    "tensorboard": "tensorboard",
    "mlflow": "mlflow",
    "wandb": "wandb",
}
# Jinja left behind; GitHub's own ${{ ... }} expressions are legitimate.
LEFTOVER = re.compile(r"(?<!\$)\{\{|\{%|%\}")


def _render(render_project, task: str, hardware: str, tracking: str, ci: str) -> Path:
    return render_project(
        "demo-tl",
        package_name=PKG,
        stack="torch-lightning",
        task=task,
        hardware=hardware,
        goal="research",
        tracking=tracking,
        ci=ci,
    )


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def _ruff(root: Path, *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--no-cache", "."],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"ruff {' '.join(args)}:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize(
    ("task", "hardware", "tracking", "ci"), list(VARIANTS), ids=["-".join(v) for v in VARIANTS]
)
def test_variant(render_project, task, hardware, tracking, ci):
    root = _render(render_project, task, hardware, tracking, ci)

    # exact file set
    assert _files(root) == sorted(VARIANTS[(task, hardware, tracking, ci)])

    # no template syntax left; every Python file compiles; YAML and TOML parse
    for rel in _files(root):
        text = (root / rel).read_text(encoding="utf-8")
        assert not LEFTOVER.search(text), f"template syntax left in {rel}"
        if rel.endswith(".py"):
            compile(text, rel, "exec")
        if rel.endswith((".yml", ".yaml")):
            yaml.safe_load(text)
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())

    # the project's own ruff settings (line-length 100) pass on the generated code
    _ruff(root, "check")
    _ruff(root, "format", "--check")

    # dependencies: torch capped, no torchvision, the tracker and Pillow only when used
    deps = pyproject["project"]["dependencies"]
    names = [re.split(r"[<>=!\[ ]", d, maxsplit=1)[0].lower() for d in deps]
    assert "torch>=2.4,<2.14" in deps
    assert "torchvision" not in names
    assert {
        "lightning",
        "torchmetrics",
        "jsonargparse",
        "onnx",
        "onnxruntime",
        "onnxscript",
    } <= set(names)
    assert ("pillow" in names) == (task == "image-classification")
    # pretrained image backbones come from Transformers (no torchvision, no timm)
    assert ("transformers" in names) == (task == "image-classification")
    assert "timm" not in names
    for option, requirement in TRACKING_REQUIREMENT.items():
        if requirement:
            assert (requirement in names) == (option == tracking), (option, names)
    assert pyproject["project"]["scripts"] == {
        "demo-tl": f"{PKG}.cli:main",
        "demo-tl-export": f"{PKG}.export:main",
    }
    markers = " ".join(pyproject["tool"]["pytest"]["ini_options"]["markers"])
    assert "gpu:" in markers and "ddp:" in markers

    # hardware decides the trainer config, and only the trainer config
    trainer_cfg = yaml.safe_load((root / "configs/trainer.yaml").read_text())
    trainer = trainer_cfg["trainer"]
    assert trainer_cfg["seed_everything"] == 42
    if hardware == "cpu":
        assert (trainer["accelerator"], trainer["precision"]) == ("cpu", "32-true")
        assert "strategy" not in trainer
    elif hardware == "gpu":
        assert (trainer["accelerator"], trainer["devices"], trainer["precision"]) == (
            "gpu",
            1,
            "bf16-mixed",
        )
        assert "strategy" not in trainer
    else:
        assert (trainer["accelerator"], trainer["precision"]) == ("gpu", "bf16-mixed")
        assert trainer["strategy"]["class_path"] == "lightning.pytorch.strategies.DDPStrategy"
        assert trainer["num_nodes"] == 1
    assert trainer["logger"]["class_path"] == LOGGERS[tracking]
    callbacks = [cb["class_path"] for cb in trainer["callbacks"]]
    assert callbacks == [
        "lightning.pytorch.callbacks.LearningRateMonitor",
        f"{PKG}.callbacks.Throughput",
        f"{PKG}.callbacks.PlotCurves",
        f"{PKG}.callbacks.PredictionWriter",
    ]
    # checkpointing, early stopping and export: own sections, outside the replaceable list
    checkpoint = trainer_cfg["checkpoint"]
    assert checkpoint["save_last"] is True and checkpoint["monitor"] == "val_loss"
    assert "dirpath" not in checkpoint  # the run folder's, set by the CLI
    assert trainer_cfg["early_stopping"]["monitor"] == "val_loss"
    assert (trainer_cfg["runs_dir"], trainer_cfg["run_name"]) == ("artifacts/runs", None)
    assert trainer_cfg["compile"] is False

    # every config key is commented: a comment line sits right above each `key: value` line
    sections = {"class_path", "init_args", "trainer", "model", "data", "callbacks+"}
    configs = ["trainer.yaml", "model.yaml", "data.yaml"]
    configs += [p.relative_to(root / "configs").as_posix() for p in root.glob("configs/*/*.yaml")]
    for name in configs:
        lines = (root / "configs" / name).read_text().splitlines()
        for index, line in enumerate(lines):
            key = re.match(r"^\s*(?:- )?([a-z_+]+):", line)
            if key and key.group(1) not in sections:
                assert lines[index - 1].strip().startswith("#"), f"{name}: uncommented {line!r}"
    # experiments add callbacks (`callbacks+`), never replace the list
    ema = yaml.safe_load((root / "configs/experiment/ema.yaml").read_text())["trainer"]
    assert "callbacks" not in ema
    assert ema["callbacks+"][0]["class_path"].endswith("EMAWeightAveraging")
    debug = {p.stem: yaml.safe_load(p.read_text()) for p in root.glob("configs/debug/*.yaml")}
    assert debug["fast_dev_run"]["trainer"]["fast_dev_run"]
    assert debug["overfit"]["trainer"]["overfit_batches"] > 0
    assert debug["anomaly"]["trainer"]["detect_anomaly"] is True
    assert debug["profiler"]["trainer"]["profiler"]["class_path"].endswith("SimpleProfiler")

    # task decides the model and data code
    model_py = (root / f"src/{PKG}/model.py").read_text()
    data_cfg = yaml.safe_load((root / "configs/data.yaml").read_text())["data"]
    model_cfg = yaml.safe_load((root / "configs/model.yaml").read_text())["model"]
    if task == "image-classification":
        assert "class SmallCNN" in model_py and "REPLACE ME" not in model_py
        assert data_cfg["data_dir"] is None and "image_size" in data_cfg
        assert data_cfg["predict_dir"] is None and "predict_path" not in data_cfg
        assert "--data.predict_dir=" in (root / "README.md").read_text()
        assert "width" in model_cfg["model_kwargs"]
        # pretrained by default; the offline tiny preset builds the same architecture
        assert model_cfg["backbone"] == "microsoft/resnet-18"
        assert model_cfg["freeze_backbone_epochs"] >= 1
        tiny = yaml.safe_load((root / "configs/tiny.yaml").read_text())["model"]
        assert tiny["backbone"] is None and tiny["backbone_config"]["model_type"] == "resnet"
        assert set(data_cfg["augment"]) == {"crop_scale", "hflip", "brightness", "contrast"}
        assert "from PIL import Image" in (root / f"src/{PKG}/data.py").read_text()
    else:
        assert "REPLACE ME" in model_py and "class CustomModel" in model_py
        assert data_cfg["data_path"] is None and "image_size" not in data_cfg
        assert data_cfg["predict_path"] is None and "predict_dir" not in data_cfg
        assert "--data.predict_path=" in (root / "README.md").read_text()
        assert "hidden" in model_cfg["model_kwargs"]
        assert "backbone" not in model_cfg and "augment" not in data_cfg
        # the objective comes from the config, linked into the data (how `y` is read)
        assert model_cfg["objective"] == "classification"
        assert '"model.objective", "data.objective"' in (root / f"src/{PKG}/cli.py").read_text()
    assert model_cfg["class_weights"] is None
    # linked from the data by the CLI
    assert not {"num_classes", "class_names", "preprocessing"} & set(model_cfg)
    cli_py = (root / f"src/{PKG}/cli.py").read_text()
    assert '"data.classes", "model.class_names"' in cli_py
    # the schedule follows the run's length (no fixed CosineAnnealingLR T_max)
    module_py = (root / f"src/{PKG}/module.py").read_text()
    assert "CosineAnnealingLR" not in module_py and "LambdaLR" in module_py
    assert "import torchvision" not in "".join(
        (root / p).read_text() for p in _files(root) if p.endswith(".py")
    )

    # README documents the chosen hardware and tracker
    readme = (root / "README.md").read_text()
    assert f"python -m {PKG} fit --ckpt_path last" in readme
    assert f"python -m {PKG}.export" in readme
    assert ("torchrun" in readme and "SLURM" in readme) == (hardware == "multi-gpu")
    assert f"logs with **{tracking}**" in readme
    if hardware == "multi-gpu":
        for script in MULTI_GPU:
            assert subprocess.run(["bash", "-n", str(root / script)]).returncode == 0
        assert f"srun python -m {PKG} fit" in (root / "scripts/slurm.sbatch").read_text()

    # CPU wheel of torch: always in CI, locally only for a cpu project
    cpu_index = "--index-url https://download.pytorch.org/whl/cpu"
    makefile = (root / "Makefile").read_text()
    assert (cpu_index in makefile) == (hardware == "cpu")
    ci_file = {"github": GITHUB, "gitlab": GITLAB}.get(ci)
    if ci_file:
        ci_text = (root / ci_file[0]).read_text()
        assert cpu_index in ci_text and '"torch>=2.4,<2.14"' in ci_text

    answers = yaml.safe_load((root / ".copier-answers.yml").read_text())
    assert answers["stack"] == "torch-lightning" and answers["tracking"] == tracking


# goal -> (max_epochs, EarlyStopping patience, deterministic, export at the end of fit)
GOALS = {
    "prototype": (10, 3, False, False),
    "research": (30, 5, "warn", False),
    "production": (30, 5, False, True),
}


@pytest.mark.parametrize("goal", list(GOALS))
def test_goal_sets_the_trainer_defaults(render_project, goal):
    root = render_project(
        "demo-tl",
        package_name=PKG,
        stack="torch-lightning",
        task="image-classification",
        hardware="cpu",
        goal=goal,
    )
    trainer = yaml.safe_load((root / "configs/trainer.yaml").read_text())["trainer"]
    config = yaml.safe_load((root / "configs/trainer.yaml").read_text())
    callbacks = {cb["class_path"]: cb.get("init_args", {}) for cb in trainer["callbacks"]}
    max_epochs, patience, deterministic, exports = GOALS[goal]
    assert trainer["max_epochs"] == max_epochs
    assert config["early_stopping"]["patience"] == patience
    assert trainer["deterministic"] == deterministic
    assert config["export"]["enabled"] is exports
    assert callbacks["lightning.pytorch.callbacks.LearningRateMonitor"] == {
        "logging_interval": "step"
    }
    readme = (root / "README.md").read_text()
    assert f"## Defaults for your goal ({goal})" in readme
    assert ("every `fit` ends by exporting" in readme) == (goal == "production")
    _ruff(root, "check")
    _ruff(root, "format", "--check")


def test_tracking_defaults_to_csv(render_project):
    root = render_project(
        "demo-tl",
        package_name=PKG,
        stack="torch-lightning",
        task="custom",
        hardware="cpu",
        goal="research",
    )
    trainer = yaml.safe_load((root / "configs/trainer.yaml").read_text())["trainer"]
    assert trainer["logger"]["class_path"] == LOGGERS["csv"]
    assert yaml.safe_load((root / ".copier-answers.yml").read_text())["tracking"] == "csv"
