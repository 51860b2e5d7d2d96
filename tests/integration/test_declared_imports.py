"""Every import in a generated project comes from a distribution its pyproject.toml declares.

An import of something only pulled in by another dependency (or present in a richer
environment) works on the machine that tested it and breaks for the user whose resolver
picks differently. Each variant the integration layer runs is rendered, its `.py` files are
walked with `ast`, and each top-level import name is mapped to its distributions with
`importlib.metadata.packages_distributions()` inside the environment built from that
variant's own declarations (stack_env.py). `src/` may use the dependencies; tests, conftest
and scripts may also use the `dev` extra.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.integration import (
    stack_env,
    test_hf_finetune,
    test_hf_textgen,
    test_tabular,
    test_tabular_clustering,
    test_tabular_dask,
    test_tf_tflite,
    test_torch_lightning,
    test_torch_lightning_detection,
)

pytestmark = pytest.mark.integration

VARIANTS = [
    *test_tabular.VARIANTS,
    *test_tabular_clustering.VARIANTS,
    *test_tabular_dask.VARIANTS,
    *test_hf_finetune.VARIANTS,
    *test_hf_textgen.VARIANTS,
    *test_tf_tflite.VARIANTS,
    *test_torch_lightning.VARIANTS,
    *test_torch_lightning_detection.VARIANTS,
]

# Imports that may stay undeclared, each only where it is guarded (inside `try: ... except
# ImportError` or an `if`), with the reason. Unguarded, or not listed: the test fails.
OPTIONAL_IMPORTS: dict[str, str] = {
    # tabular: pipeline.make_estimator imports the library `model.name` picks, inside its `if`;
    # the project declares the one it was generated for (tabular_model).
    "xgboost": "tabular: only when configs/train.yaml sets model.name: xgboost",
    "lightgbm": "tabular: only when configs/train.yaml sets model.name: lightgbm",
    # tabular multi-gpu: dask_cluster.connect imports it for `cluster: cuda` only (Linux with
    # NVIDIA drivers); a missing one is a one-line ConfigError naming `pip install dask-cuda`
    "dask_cuda": "tabular: only when configs/dask.yaml sets cluster: cuda",
}


# Modules that run in an environment of their own, declared by another requirements file of
# the project: their imports may come from that file (by distribution name).
OWN_ENVIRONMENT = {
    "export_tfjs.py": "requirements-tfjs.txt",  # tf-tflite browser: the TF.js converter's venv
}


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:  # a bare except
        return True
    names = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(kind, ast.Name) and kind.id in names for kind in kinds)


def imports(source: str) -> list[tuple[int, str, bool]]:
    """(line, top-level module, guarded) for every absolute import in `source`."""
    found: list[tuple[int, str, bool]] = []

    def walk(node: ast.AST, guarded: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend((child.lineno, a.name.split(".")[0], guarded) for a in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                found.append((child.lineno, child.module.split(".")[0], guarded))
            if isinstance(child, ast.Try):
                caught = any(_catches_import_error(h) for h in child.handlers)
                for statement in child.body:
                    walk_one(statement, guarded or caught)
                for rest in (*child.handlers, *child.orelse, *child.finalbody):
                    walk_one(rest, guarded)
            elif isinstance(child, ast.If):
                walk(child, True)
            else:
                walk(child, guarded)

    def walk_one(node: ast.AST, guarded: bool) -> None:
        holder = ast.Module(body=[node], type_ignores=[])
        walk(holder, guarded)

    walk(ast.parse(source), False)
    return found


def _distributions_by_import(python: Path) -> dict[str, set[str]]:
    script = "import importlib.metadata as m, json; print(json.dumps(m.packages_distributions()))"
    result = subprocess.run([str(python), "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return {
        name: {canonicalize_name(d) for d in dists}
        for name, dists in json.loads(result.stdout).items()
    }


def _requirement_names(path: Path) -> set[str]:
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return {canonicalize_name(Requirement(line).name) for line in lines if line}


def undeclared_imports(project: Path, python: Path) -> list[str]:
    """One line per import in `project` that no declared distribution provides."""
    spec = stack_env.declared(project)
    runtime = {canonicalize_name(Requirement(text).name) for text in spec.dependencies}
    dev = runtime | {canonicalize_name(Requirement(text).name) for text in spec.dev}
    providers = _distributions_by_import(python)
    problems = []
    for path in sorted(project.rglob("*.py")):
        relative = path.relative_to(project)
        if relative.parts[0] in {"artifacts", "data"}:
            continue
        allowed = runtime if relative.parts[0] == "src" else dev
        own = OWN_ENVIRONMENT.get(path.name)
        if own:
            allowed = allowed | _requirement_names(project / own)
        # Sibling modules are importable where pytest (or `python file.py`) runs the file.
        local = {p.stem for p in path.parent.glob("*.py")} | {
            p.parent.name for p in path.parent.glob("*/__init__.py")
        }
        for line, name, guarded in imports(path.read_text()):
            if name in sys.stdlib_module_names or name in local or name == spec.package:
                continue
            dists = providers.get(name, set())
            if not dists and own:  # from the other env: named like its distribution
                dists = {canonicalize_name(name)}
            if dists & allowed:
                continue
            if guarded and name in OPTIONAL_IMPORTS:
                continue
            where = "the dependencies" if allowed is runtime else "the dependencies or dev extra"
            provider = ", ".join(sorted(dists)) or "no installed distribution"
            problems.append(
                f"{relative}:{line}: import {name} -> {provider}, not in {where} of pyproject.toml"
            )
    return problems


def test_the_import_walker_sees_guards() -> None:
    source = (
        "import os, numpy.linalg\n"
        "from yaml import safe_load\n"
        "from . import sibling\n"
        "try:\n    import onnx\nexcept ImportError:\n    onnx = None\n"
        "try:\n    import torch\nexcept ValueError:\n    pass\n"
        "if FLAG:\n    import wandb\n"
        "def f():\n    import pandas\n"
    )
    assert imports(source) == [
        (1, "os", False),
        (1, "numpy", False),
        (2, "yaml", False),
        (5, "onnx", True),
        (9, "torch", False),
        (13, "wandb", True),
        (15, "pandas", False),
    ]


@pytest.mark.parametrize(("name", "answers"), VARIANTS, ids=[v[0] for v in VARIANTS])
def test_every_import_is_declared(render_project, name: str, answers: dict) -> None:
    project = render_project(name, **answers)
    python = stack_env.ensure_env(stack_env.declared(project))
    problems = undeclared_imports(project, python)
    assert not problems, "imports without a declared distribution:\n" + "\n".join(problems)
