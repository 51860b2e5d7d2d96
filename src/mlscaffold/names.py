"""Project and package name checks, run before anything is written.

copier.yml (templates/_questions/project.yml) holds the same rules as Jinja validators for plain
`copier copy`; tests/test_names.py walks many names through both and fails on disagreement.
"""

from __future__ import annotations

import keyword
import re
import sys

from mlscaffold.errors import UsageError

# \Z, not $: `$` also matches before a trailing newline ("abc\n" would pass).
PROJECT_NAME = re.compile(r"^[A-Za-z]([A-Za-z0-9._-]*[A-Za-z0-9])?\Z")
PACKAGE_NAME = re.compile(r"^[a-z][a-z0-9_]*\Z")
MAX_PROJECT_NAME = 100

# Names that would shadow what the generated project imports, or confuse tooling.
RESERVED = frozenset(
    [
        "src",
        "test",
        "tests",
        "torch",
        "torchvision",
        "lightning",
        "torchmetrics",
        "transformers",
        "datasets",
        "accelerate",
        "tokenizers",
        "tensorflow",
        "keras",
        "numpy",
        "pandas",
        "scipy",
        "sklearn",
        "xgboost",
        "lightgbm",
        "matplotlib",
        "yaml",
        "onnx",
        "onnxruntime",
        "pytest",
        "mlflow",
        "wandb",
        "tensorboard",
        "joblib",
        "evaluate",
        "safetensors",
        "huggingface_hub",
        "ai_edge_litert",
        "tensorflowjs",
        "optuna",
        "dask",
        "pyarrow",
        "setuptools",
        "pip",
    ]
)


def _stdlib() -> frozenset[str]:
    return frozenset(sys.stdlib_module_names)


def package_from_project(project_name: str) -> str:
    """The default import name for a project name (same as copier.yml's default)."""
    return project_name.lower().replace("-", "_").replace(".", "_")


def check_project_name(name: str) -> None:
    if len(name) > MAX_PROJECT_NAME:
        raise UsageError(
            f"invalid project name {name[:20]!r}...: use at most {MAX_PROJECT_NAME} characters"
        )
    if not PROJECT_NAME.match(name):
        raise UsageError(
            f"invalid project name {name!r}: start with a letter, end with a letter or digit, "
            "and use only letters, digits, '.', '_' and '-'"
        )


def check_package_name(name: str) -> None:
    if not PACKAGE_NAME.match(name):
        raise UsageError(
            f"invalid package name {name!r}: use a lowercase Python identifier "
            "(letters, digits, '_') starting with a letter"
        )
    if keyword.iskeyword(name) or name in {"true", "false", "none"}:
        raise UsageError(f"invalid package name {name!r}: it is a Python keyword")
    if name in RESERVED or name in _stdlib():
        raise UsageError(
            f"invalid package name {name!r}: it would shadow the module {name!r} "
            "(standard library or a dependency); choose another name"
        )
