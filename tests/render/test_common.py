"""Layer 3, for every stack: what every rendered project must satisfy, whatever the stack."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from mlscaffold import scaffold
from tests.render.checks import SHARED_FILES, assert_python_is_clean, assert_text_is_clean

TYPICAL = {
    "tabular": {"task": "tabular-classification", "hardware": "cpu"},
    "hf-finetune": {"task": "text-classification", "hardware": "gpu"},
    "tf-tflite": {"task": "image-classification", "hardware": "mobile"},
    "torch-lightning": {"task": "custom", "hardware": "gpu", "goal": "research"},
}
BUILT = sorted(scaffold.built_stacks())
VARIANTS = [(stack, ci) for stack in BUILT for ci in ("github", "gitlab", "none")]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[tuple[str, str], Path]:
    root = tmp_path_factory.mktemp("rendered")
    projects = {}
    for stack, ci in VARIANTS:
        dest = root / f"{stack.replace('-', '_')}_{ci}"
        data = {"project_name": dest.name, "stack": stack, "ci": ci, **TYPICAL[stack]}
        scaffold.render(dest, data)
        projects[(stack, ci)] = dest
    return projects


def files(project: Path) -> list[Path]:
    return sorted(p for p in project.rglob("*") if p.is_file())


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: "-".join(v))
def test_no_template_syntax_left_and_text_files_end_cleanly(rendered, variant):
    assert_text_is_clean(rendered[variant])


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: "-".join(v))
def test_shared_parts_are_present(rendered, variant):
    stack, ci = variant
    project = rendered[variant]
    names = {p.relative_to(project).as_posix() for p in files(project)}
    assert set(SHARED_FILES) <= names
    assert (".github/workflows/ci.yml" in names) == (ci == "github")
    assert (".gitlab-ci.yml" in names) == (ci == "gitlab")
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["stack"] == stack and answers["ci"] == ci
    makefile = (project / "Makefile").read_text()
    for target in ("install:", "lint:", "test:", "train:"):
        assert f"\n{target}" in makefile


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: "-".join(v))
def test_python_compiles_and_passes_ruff(rendered, variant):
    assert_python_is_clean(rendered[variant])


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: "-".join(v))
def test_yaml_and_toml_parse(rendered, variant):
    project = rendered[variant]
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == project.name
    assert pyproject["project"]["dependencies"]
    assert "dev" in pyproject["project"]["optional-dependencies"]
    for path in files(project):
        if path.suffix in {".yml", ".yaml"}:
            yaml.safe_load(path.read_text())


def test_ci_files_validate_against_their_schemas(rendered):
    checks = {
        "vendor.github-workflows": [
            p / ".github/workflows/ci.yml" for (s, ci), p in rendered.items() if ci == "github"
        ],
        "vendor.gitlab-ci": [
            p / ".gitlab-ci.yml" for (s, ci), p in rendered.items() if ci == "gitlab"
        ],
    }
    for schema, paths in checks.items():
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "check_jsonschema",
                "--builtin-schema",
                schema,
                *map(str, paths),
            ],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("license_id", ["MIT", "Apache-2.0", "BSD-3-Clause", "proprietary"])
def test_every_licence_renders(tmp_path, license_id):
    dest = tmp_path / "lic"
    scaffold.render(dest, {"project_name": "lic", "license": license_id, "author_name": "Ada"})
    text = (dest / "LICENSE").read_text()
    expected = {
        "MIT": "MIT License",
        "Apache-2.0": "Apache License, Version 2.0",
        "BSD-3-Clause": "BSD 3-Clause License",
        "proprietary": "All rights reserved",
    }
    assert expected[license_id] in text and "Ada" in text
    license_field = tomllib.loads((dest / "pyproject.toml").read_text())["project"]["license"]
    assert license_field == (
        "LicenseRef-Proprietary" if license_id == "proprietary" else license_id
    )


def test_python_version_reaches_ci_and_tooling(tmp_path):
    dest = tmp_path / "py312"
    scaffold.render(dest, {"project_name": "py312", "python_version": "3.12"})
    assert 'python-version: "3.12"' in (dest / ".github/workflows/ci.yml").read_text()
    pyproject = tomllib.loads((dest / "pyproject.toml").read_text())
    assert pyproject["project"]["requires-python"] == ">=3.12"
    assert pyproject["tool"]["ruff"]["target-version"] == "py312"


# Stacks whose generated tests turn warnings into errors (the Scientific Python guide's
# `filterwarnings = ["error", ...]`); the integration layer runs their suites with it.
WARNINGS_ARE_ERRORS = {"tabular", "tf-tflite", "torch-lightning", "hf-finetune"}


@pytest.mark.parametrize("stack", BUILT)
def test_pytest_configuration_is_strict(rendered, stack):
    config = tomllib.loads((rendered[(stack, "github")] / "pyproject.toml").read_text())
    pytest_config = config["tool"]["pytest"]["ini_options"]
    assert {"--strict-markers", "--strict-config"} <= set(pytest_config["addopts"])
    assert pytest_config["xfail_strict"] is True and pytest_config["minversion"]
    filters = pytest_config.get("filterwarnings")
    if stack not in WARNINGS_ARE_ERRORS:
        assert filters is None
        return
    assert filters[0] == "error"
    for entry in filters[1:]:
        action, message, category = entry.split(":")[:3]
        # an ignore names the message and the category, never a blanket category
        assert action == "ignore" and message and category.endswith("Warning"), entry
