"""Layer 3 for the generated docs folder: every variant's docs build with Sphinx + MyST with
warnings as errors (as `make docs` and the CI docs job build them), the front page is the
README, every config file is shown as it is, and `.readthedocs.yaml` matches its schema."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# variants whose README or configs/ differ
VARIANTS = {
    "tabular": {"stack": "tabular"},
    "tabular-clustering": {"task": "tabular-clustering", "goal": "production"},
    "hf-text-multigpu": {"task": "text-classification", "hardware": "multi-gpu"},
    "hf-qa": {"task": "question-answering"},
    "hf-summarization": {"task": "summarization", "goal": "production"},
    "hf-textgen": {"task": "text-generation"},
    "tflite-image": {"stack": "tf-tflite", "task": "image-classification", "goal": "production"},
    "tflite-text": {"stack": "tf-tflite", "task": "text-classification", "ci": "gitlab"},
    "lightning-image": {"stack": "torch-lightning", "task": "image-classification"},
    "lightning-detection": {"stack": "torch-lightning", "task": "object-detection"},
}
CONFIGS = {
    "tabular": ["train.yaml"],
    "tabular-clustering": ["train.yaml"],
    "hf-text-multigpu": [
        "train.yaml",
        "tiny.yaml",
        "hub-dataset.yaml",
        "accelerate.yaml",
        "accelerate-multi-node.yaml",
        "accelerate-fsdp.yaml",
        "accelerate-deepspeed.yaml",
    ],
    "hf-qa": ["train.yaml", "tiny.yaml", "hub-dataset.yaml"],
    "hf-summarization": ["train.yaml", "tiny.yaml", "hub-dataset.yaml"],
    "hf-textgen": ["train.yaml", "tiny.yaml", "hub-dataset.yaml"],
    "tflite-image": ["train.yaml"],
    "tflite-text": ["train.yaml"],
    "lightning-image": ["trainer.yaml", "model.yaml", "data.yaml", "tiny.yaml"],
    "lightning-detection": ["trainer.yaml", "model.yaml", "data.yaml", "tiny.yaml"],
}


def _build(project: Path, out: Path) -> subprocess.CompletedProcess:
    # the command of `make docs` (pip path) and of the CI docs job
    args = ["-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", "docs", str(out)]
    return subprocess.run(
        [sys.executable, *args], cwd=project, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_docs_build_without_warnings_and_show_readme_and_configs(render_project, tmp_path, variant):
    project = render_project("docs_" + variant.replace("-", "_"), **VARIANTS[variant])
    result = _build(project, tmp_path / "html")
    assert result.returncode == 0, result.stdout + result.stderr
    index = (tmp_path / "html" / "index.html").read_text()
    readme_title = (project / "README.md").read_text().splitlines()[0].removeprefix("# ")
    assert readme_title in index and "Set up" in index  # the README is the front page
    page = (tmp_path / "html" / "configuration.html").read_text()
    shown = sorted(p.name for p in (project / "configs").glob("*.yaml"))
    assert sorted(CONFIGS[variant]) == shown, "every file in configs/ has its section"
    for name in shown:
        assert f"configs/{name}" in page
        first_key = next(
            line.split(":")[0]
            for line in (project / "configs" / name).read_text().splitlines()
            if line and not line.startswith(("#", " ", "-"))
        )
        assert first_key in page, (name, first_key)  # the file itself, not a description


def test_a_broken_docs_page_fails_the_build(render_project, tmp_path):
    project = render_project("docs_broken", stack="tabular")
    index = project / "docs" / "index.md"
    index.write_text(index.read_text().replace("configuration", "no-such-page"))
    result = _build(project, tmp_path / "html")
    assert result.returncode != 0 and "no-such-page" in result.stdout + result.stderr


def test_read_the_docs_config_matches_its_schema(render_project):
    project = render_project("docs_rtd", stack="tabular")
    schema = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.readthedocs"]
    result = subprocess.run(
        [*schema, str(project / ".readthedocs.yaml")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
