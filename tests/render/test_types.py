"""Layer 3: every generated project passes its own type-checker configuration.

The generated pyproject.toml configures mypy (`[tool.mypy]`) and pre-commit runs it through
mirrors-mypy, in an environment holding mypy and the hook's `additional_dependencies` only:
no ML library. These tests run mypy the same way: with the project's configuration, against
an interpreter that sees exactly those packages (their installed copies, from mlscaffold's
`test` extra), over the variants whose code differs.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from mlscaffold import scaffold

REPO_ROOT = Path(__file__).resolve().parents[2]

PRODUCTION = {"goal": "production", "serving": "http"}
VARIANTS: dict[str, dict[str, str]] = {
    "tabular-xgboost-classification-http": {
        "task": "tabular-classification",
        "tabular_model": "xgboost",
        **PRODUCTION,
    },
    "tabular-lightgbm-regression": {"task": "tabular-regression", "tabular_model": "lightgbm"},
    # the Dask path (distributed.py, dask_cluster.py, tests/test_distributed.py)
    "tabular-lightgbm-classification-large": {
        "task": "tabular-classification",
        "data_size": "large",
    },
    "tabular-sklearn-classification": {
        "task": "tabular-classification",
        "tabular_model": "sklearn",
    },
    "tabular-clustering-http": {"task": "tabular-clustering", **PRODUCTION},
    "hf-text-classification-cpu": {"task": "text-classification"},
    "hf-text-classification-multi-gpu": {"task": "text-classification", "hardware": "multi-gpu"},
    "hf-text-classification-gpu-http": {
        "task": "text-classification",
        "hardware": "gpu",
        **PRODUCTION,
    },
    "hf-token-classification": {"task": "token-classification"},
    "hf-question-answering": {"task": "question-answering"},
    "hf-question-answering-http": {"task": "question-answering", **PRODUCTION},
    "hf-summarization": {"task": "summarization"},
    "hf-translation": {"task": "translation"},
    "hf-translation-gpu-http": {"task": "translation", "hardware": "gpu", **PRODUCTION},
    "hf-text-generation": {"task": "text-generation"},
    "hf-text-generation-multi-gpu": {"task": "text-generation", "hardware": "multi-gpu"},
    "hf-text-generation-gpu-http": {"task": "text-generation", "hardware": "gpu", **PRODUCTION},
    "tf-image-mobile": {"task": "image-classification", "hardware": "mobile"},
    "tf-image-mobilenet-http": {
        "task": "image-classification",
        "hardware": "mobile",
        "architecture": "mobilenet_v3_small",
        **PRODUCTION,
    },
    "tf-image-edge": {"task": "image-classification", "hardware": "edge"},
    "tf-text-browser": {"task": "text-classification", "hardware": "browser"},
    "tf-image-browser": {"task": "image-classification", "hardware": "browser"},
    "tf-text-mobile-http": {"task": "text-classification", "hardware": "mobile", **PRODUCTION},
    "tf-custom-gpu-http": {"task": "custom", "hardware": "gpu", **PRODUCTION},
    "torch-image-cpu": {"task": "image-classification", "stack": "torch-lightning"},
    "torch-image-gpu-http": {
        "task": "image-classification",
        "stack": "torch-lightning",
        "hardware": "gpu",
        **PRODUCTION,
    },
    "torch-custom-multi-gpu-mlflow": {
        "task": "custom",
        "stack": "torch-lightning",
        "hardware": "multi-gpu",
        "goal": "research",
        "tracking": "mlflow",
    },
    "torch-object-detection": {"task": "object-detection"},
    "torch-object-detection-gpu-http": {
        "task": "object-detection",
        "hardware": "gpu",
        **PRODUCTION,
    },
}
STACKS = {"tabular": "tabular", "hf": "hf-finetune", "tf": "tf-tflite", "torch": "torch-lightning"}


def answers(name: str) -> dict[str, str]:
    return {
        "project_name": name.replace("-", "_"),
        "stack": STACKS[name.split("-")[0]],
        "hardware": "cpu",
        **VARIANTS[name],
    }


def hook(project: Path) -> dict:
    """The mypy hook of the project's .pre-commit-config.yaml."""
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    (found,) = [
        hook
        for repo in config["repos"]
        if repo["repo"] == "https://github.com/pre-commit/mirrors-mypy"
        for hook in repo["hooks"]
        if hook["id"] == "mypy"
    ]
    return found


def installed(requirements: list[str]) -> list[importlib.metadata.Distribution]:
    """The installed distributions of `requirements` and of everything they require."""
    found: dict[str, importlib.metadata.Distribution] = {}
    todo = [Requirement(text) for text in requirements]
    while todo:
        requirement = todo.pop()
        key = canonicalize_name(requirement.name)
        if key in found or (requirement.marker and not requirement.marker.evaluate({"extra": ""})):
            continue
        try:
            found[key] = importlib.metadata.distribution(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            pytest.fail(f"{requirement.name} (the mypy hook installs it) is not installed here")
        todo += [Requirement(text) for text in found[key].requires or []]
    return list(found.values())


@pytest.fixture(scope="session")
def reference(tmp_path_factory) -> Path:
    """The default project: its hook says what the type-checking environment holds."""
    dest = tmp_path_factory.mktemp("types") / "reference"
    scaffold.render(dest, {"project_name": "reference"})
    return dest


@pytest.fixture(scope="session")
def hook_python(tmp_path_factory, reference) -> Path:
    """An interpreter that sees only what the hook installs, as pre-commit's environment."""
    root = tmp_path_factory.mktemp("hook-env")
    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(root)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(root), "platbase": str(root)}))
    for dist in installed(hook(reference)["additional_dependencies"]):
        assert dist.files, f"{dist.metadata['Name']} lists no files"
        tops = {f.parts[0] for f in dist.files if f.parts[0] != ".."}
        for top in sorted(tops - {"__pycache__"}):
            if not top.endswith((".dist-info", ".pth")) and not (site / top).exists():
                (site / top).symlink_to(Path(str(dist.locate_file(top))))
    return root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


@pytest.fixture(scope="session")
def mypy_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mypy-cache")


def mypy(project: Path, python: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    """mypy as the hook runs it: no arguments but where its environment and cache are."""
    command = [sys.executable, "-m", "mypy", "--python-executable", str(python)]
    return subprocess.run(
        [*command, "--cache-dir", str(cache), "--no-color-output"],
        cwd=project,
        capture_output=True,
        text=True,
    )


def test_hook_runs_the_project_configuration_with_what_the_test_extra_installs(reference):
    found = hook(reference)
    assert found["args"] == [] and found["pass_filenames"] is False
    config = tomllib.loads((reference / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    assert config["mypy"]["files"] == ["src", "tests"]
    assert config["mypy"]["python_version"] == "3.11"
    assert config["mypy"]["check_untyped_defs"] is True
    ours = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    extra = {
        canonicalize_name(Requirement(r).name)
        for r in ours["project"]["optional-dependencies"]["test"]
    }
    wanted = {canonicalize_name(Requirement(r).name) for r in found["additional_dependencies"]}
    assert wanted | {"mypy"} <= extra


@pytest.mark.parametrize("name", list(VARIANTS))
def test_generated_project_type_checks(name, tmp_path, hook_python, mypy_cache):
    project = tmp_path / name
    scaffold.render(project, answers(name))
    result = mypy(project, hook_python, mypy_cache)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout


def test_a_type_error_fails_naming_the_file(reference, tmp_path, hook_python, mypy_cache):
    project = tmp_path / "broken"
    shutil.copytree(reference, project)
    module = project / "src" / "reference" / "data.py"
    module.write_text(
        module.read_text(encoding="utf-8") + '\n\ndef broken() -> int:\n    return "one"\n',
        encoding="utf-8",
    )
    test = project / "tests" / "test_data.py"
    test.write_text(test.read_text(encoding="utf-8") + '\nCOUNT: int = "one"  # type: ignore\n')
    result = mypy(project, hook_python, mypy_cache)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "src/reference/data.py:" in result.stdout and "[return-value]" in result.stdout
    # an ignore that names no error code is itself an error
    assert "tests/test_data.py:" in result.stdout and "[ignore-without-code]" in result.stdout
