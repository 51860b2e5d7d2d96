"""Layer 3 for the tf-tflite stack: every choice value renders, with the exact file set."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.render.checks import (
    SHARED_FILES,
    assert_python_is_clean,
    assert_text_is_clean,
    file_set,
    read,
)

COMMON = [
    *SHARED_FILES,
    "configs/train.yaml",
    "src/{pkg}/__init__.py",
    "src/{pkg}/benchmark.py",
    "src/{pkg}/config.py",
    "src/{pkg}/data.py",
    "src/{pkg}/distribute.py",
    "src/{pkg}/evaluate.py",
    "src/{pkg}/export.py",
    "src/{pkg}/keras_multi_worker.py",
    "src/{pkg}/model.py",
    "src/{pkg}/predict.py",
    "src/{pkg}/splits.py",
    "src/{pkg}/storage.py",
    "src/{pkg}/train.py",
    "src/{pkg}/tflite_metadata.py",
    "tests/conftest.py",
    "tests/test_benchmark.py",
    "tests/test_data.py",
    "tests/test_distribute.py",
    "tests/test_evaluate.py",
    "tests/test_metadata.py",
    "tests/test_model.py",
    "tests/test_splits.py",
    "tests/test_train_export.py",
]
GITHUB = [".github/workflows/ci.yml", ".github/dependabot.yml"]
GITLAB = [".gitlab-ci.yml"]
TEXT = ["src/{pkg}/text_encoding.py", "src/{pkg}/data_text.py", "tests/test_text_model.py"]
# added to every case whose task is not text (test_mediapipe: MediaPipe reads the metadata)
IMAGE = ["src/{pkg}/data_images.py", "tests/test_mediapipe.py"]
BROWSER = [
    "requirements-tfjs.txt",
    "src/{pkg}/export_tfjs.py",
    "src/{pkg}/browser_check.py",
    "tests/test_tfjs.py",
    "web/package.json",
    "web/package-lock.json",
    "web/preprocess.mjs",
    "web/predict.mjs",
]
EDGE: list[str] = []  # benchmark.py is rendered for every target (test_tf_tflite_devices.py)

# name -> (answers, extra files beyond COMMON). Together they cover every task, every
# hardware value, both architectures, and the three CI choices.
CASES: dict[str, tuple[dict[str, str], list[str]]] = {
    "img_mobile": ({"task": "image-classification", "hardware": "mobile"}, GITHUB),
    "img_edge_mnv3": (
        {
            "task": "image-classification",
            "hardware": "edge",
            "architecture": "mobilenet_v3_small",
            "ci": "gitlab",
        },
        GITLAB + EDGE,
    ),
    "img_browser": (
        {"task": "image-classification", "hardware": "browser", "ci": "none"},
        BROWSER,
    ),
    "img_cpu": ({"task": "image-classification", "hardware": "cpu"}, GITHUB),
    "img_gpu": ({"task": "image-classification", "hardware": "gpu", "ci": "none"}, []),
    "txt_mobile": ({"task": "text-classification", "hardware": "mobile"}, GITHUB + TEXT),
    "txt_edge": (
        {"task": "text-classification", "hardware": "edge", "ci": "gitlab"},
        GITLAB + TEXT + EDGE,
    ),
    "txt_browser": (
        {"task": "text-classification", "hardware": "browser"},
        GITHUB + TEXT + BROWSER,
    ),
    "custom_tpu": ({"task": "custom", "hardware": "tpu"}, GITHUB),
    "custom_multigpu": ({"task": "custom", "hardware": "multi-gpu", "ci": "none"}, []),
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Path]:
    from mlscaffold import scaffold

    root = tmp_path_factory.mktemp("tf_tflite")
    projects = {}
    for name, (answers, _) in CASES.items():
        scaffold.render(root / name, {"project_name": name, "stack": "tf-tflite", **answers})
        projects[name] = root / name
    return projects


@pytest.mark.parametrize("name", CASES)
def test_exact_file_set(rendered, name):
    extra = CASES[name][1]
    if CASES[name][0]["task"] != "text-classification":
        extra = extra + IMAGE
    if CASES[name][0]["hardware"] in ("mobile", "edge", "browser"):
        extra = extra + ["DELEGATES.md"]  # accelerator snippets (test_tf_tflite_devices.py)
    expected = sorted(path.format(pkg=name) for path in COMMON + extra)
    assert file_set(rendered[name]) == expected


@pytest.mark.parametrize("name", CASES)
def test_no_template_syntax_left(rendered, name):
    assert_text_is_clean(rendered[name])


@pytest.mark.parametrize("name", CASES)
def test_python_compiles_and_passes_ruff(rendered, name):
    assert_python_is_clean(rendered[name])


@pytest.mark.parametrize("name", CASES)
def test_yaml_and_toml_parse(rendered, name):
    project = rendered[name]
    pyproject = tomllib.loads(read(project, "pyproject.toml"))
    assert pyproject["project"]["name"] == name
    assert pyproject["tool"]["ruff"]["line-length"] == 100
    for relative in file_set(project):
        if relative.endswith((".yml", ".yaml")):
            yaml.safe_load(read(project, relative))
    answers = yaml.safe_load(read(project, ".copier-answers.yml"))
    assert answers["stack"] == "tf-tflite"
    assert answers["task"] == CASES[name][0]["task"]
    assert answers["hardware"] == CASES[name][0]["hardware"]


def config(project: Path) -> dict:
    return yaml.safe_load(read(project, "configs/train.yaml"))


def dependencies(project: Path) -> list[str]:
    return tomllib.loads(read(project, "pyproject.toml"))["project"]["dependencies"]


@pytest.mark.parametrize("name", CASES)
def test_hardware_answer_picks_tensorflow_build_and_strategy(rendered, name):
    project = rendered[name]
    hardware = CASES[name][0]["hardware"]
    deps = dependencies(project)
    assert any(d.startswith("ai-edge-litert") for d in deps)
    cpu_only = hardware in ("cpu", "mobile", "edge", "browser")
    assert any(d.startswith("tensorflow-cpu") for d in deps) == cpu_only
    assert any(re.match(r"tensorflow[>=]", d) for d in deps) == (not cpu_only)
    expected = {"tpu": "tpu", "multi-gpu": "mirrored"}.get(hardware, "default")
    assert config(project)["distribute"]["strategy"] == expected
    tests = read(project, "tests/test_model.py")
    assert f'== "{expected}"' in tests
    readme = read(project, "README.md")
    if hardware == "tpu":
        assert "TPUStrategy" in tests and "`TPUStrategy` on a Cloud TPU" in readme
    if hardware == "multi-gpu":
        assert "MirroredStrategy" in tests and "`MirroredStrategy` over every local GPU" in readme


@pytest.mark.parametrize("name", CASES)
def test_deployment_target_sections(rendered, name):
    project = rendered[name]
    hardware = CASES[name][0]["hardware"]
    readme = read(project, "README.md")
    on_device = hardware in ("mobile", "edge")
    for heading in ("### Android (Kotlin)", "### iOS (Swift)", "### Linux (Raspberry Pi"):
        assert (heading in readme) == on_device, heading
    assert ("## Browser (TF.js)" in readme) == (hardware == "browser")
    if hardware == "browser":
        assert "tf.loadGraphModel" in readme and "requirements-tfjs.txt" in readme
        assert "tensorflowjs==" in read(project, "requirements-tfjs.txt")
        assert "convert_tf_saved_model" in read(project, "src/{pkg}/export_tfjs.py")
        assert "pytest.skip" in read(project, "tests/test_tfjs.py")
        assert ".venv-tfjs/" in read(project, ".gitignore")
        assert "web/node_modules/" in read(project, ".gitignore")
        assert "<!-- cmd: tfjs-convert -->" in readme and "<!-- cmd: browser-check -->" in readme
    # the TFLite machinery is there whatever the target
    export = read(project, "src/{pkg}/export.py")
    for variant in ("float16", "dynamic_range", "int8", "representative_dataset"):
        assert variant in export
    assert "from ai_edge_litert.interpreter import Interpreter" in read(
        project, "src/{pkg}/predict.py"
    )
    assert "tf.lite.Interpreter(" not in export


@pytest.mark.parametrize("name", [n for n in CASES if CASES[n][0]["task"] == "text-classification"])
def test_text_task_gets_a_text_project(rendered, name):
    project = rendered[name]
    data = read(project, "src/{pkg}/data.py") + read(project, "src/{pkg}/data_text.py")
    model = read(project, "src/{pkg}/model.py")
    assert "TextVectorization" in data and "load_digits" not in data
    assert 'dtype="int32"' in model and "Embedding" in model
    # padding masked; a transformer encoder as the option; CJK split by character
    assert "class MaskedMean" in model and "MultiHeadAttention" in model
    assert config(project)["model"]["architecture"] == "masked-mean"
    assert "NO_SPACE_RANGES" in read(project, "src/{pkg}/text_encoding.py")
    assert "Conv2D" not in model and "MobileNetV3Small" not in model
    assert config(project)["data"]["path"] == "data/sample_text.csv"
    assert "vocab.txt" in read(project, "src/{pkg}/export.py")
    assert "architecture" not in yaml.safe_load(read(project, ".copier-answers.yml"))
    assert "Sentence classification" in read(project, "README.md")
    # one tokenisation rule: Python standardises before TextVectorization, devices port it
    assert "standardize=None" in data and 'lower_and_strip_punctuation",\n' not in data
    encoding = read(project, "src/{pkg}/text_encoding.py")
    assert "WHITESPACE" in encoding and "\\xa0" in encoding
    tests = read(project, "tests/test_data.py")
    assert "\\u00a0" in tests and "CAFÉ ÉTÉ" in tests
    readme = read(project, "README.md")
    # NBSP-aware ports: in the README's snippets, or (browser) in web/preprocess.mjs
    ports = readme + (read(project, "web/preprocess.mjs") if "browser" in name else "")
    assert ".split(/\\s+/)" not in ports and "\\u1680" in ports
    assert config(project)["data"]["sample_per_class"] == 400
    assert any(d.startswith("scikit-learn") for d in dependencies(project))  # the report


@pytest.mark.parametrize("name", [n for n in CASES if CASES[n][0]["task"] != "text-classification"])
def test_image_tasks_get_the_image_machinery(rendered, name):
    project = rendered[name]
    answers = CASES[name][0]
    data = read(project, "src/{pkg}/data.py") + read(project, "src/{pkg}/data_images.py")
    model = read(project, "src/{pkg}/model.py")
    assert "load_digits" in data and "prefetch(AUTOTUNE)" in data and ".cache(" in data
    assert "TextVectorization" not in data
    assert "MobileNetV3Small" in model and "Conv2D" in model
    assert '"efficientnet_v2_b0": "EfficientNetV2B0"' in model  # the second backbone choice
    cfg = config(project)
    if answers["task"] == "custom":
        assert "def build_custom_model" in model and "REPLACE THIS" in model
        assert cfg["model"]["architecture"] == "custom"
    else:
        assert "build_custom_model" not in model
        architecture = answers.get("architecture", "small-cnn")
        assert cfg["model"]["architecture"] == architecture
        recorded = yaml.safe_load(read(project, ".copier-answers.yml"))["architecture"]
        assert recorded == architecture
        assert cfg["data"]["channels"] == (3 if architecture == "mobilenet_v3_small" else 1)


def test_mobilenet_default_weights_are_imagenet_with_network_note(rendered):
    project = rendered["img_edge_mnv3"]
    assert config(project)["model"]["weights"] == "imagenet"
    assert config(project)["data"]["image_size"] == [96, 96]
    assert "needs the network" in read(project, "README.md")
    # the generated tests never download weights
    assert '"weights": "none"' in read(project, "tests/conftest.py")
    # no silent fallback to random weights; the pre-trained backbone is frozen, then fine-tuned
    model = read(project, "src/{pkg}/model.py")
    assert "starting from random weights" not in model
    assert "needs the network once" in model and "backbone.trainable = False" in model
    assert "def unfreeze_backbone" in model
    train_cfg = config(project)["train"]
    assert train_cfg["fine_tune_epochs"] == 0 and train_cfg["fine_tune_learning_rate"] < 1e-3
    assert "fine_tune(model" in read(project, "src/{pkg}/train.py")
    assert "test_imagenet_weights_that_cannot_load_fail_clearly" in read(
        project, "tests/test_model.py"
    )


@pytest.mark.parametrize("name", CASES)
def test_throughput_counts_batches_seen(rendered, name):
    train = read(rendered[name], "src/{pkg}/train.py")
    assert "def on_train_batch_end" in train
    assert "ThroughputLogger(batch_size, train_size)" in train
    assert "test_throughput_counts_the_samples_actually_seen" in read(
        rendered[name], "tests/test_train_export.py"
    )


@pytest.mark.parametrize("task", ["image", "text"])
def test_edge_differs_from_mobile(rendered, task):
    mobile = rendered["img_mobile" if task == "image" else "txt_mobile"]
    edge = rendered["img_edge_mnv3" if task == "image" else "txt_edge"]
    assert "## Edge device (Raspberry Pi, Jetson, Coral)" in read(edge, "README.md")
    assert "## Edge device" not in read(mobile, "README.md")
    assert ".benchmark" in read(edge, "README.md") and "edgetpu_compiler" in read(edge, "README.md")
    edge_export = config(edge)["export"]
    assert edge_export["deploy_variant"] == "int8" and edge_export["num_threads"] >= 1
    assert "deploy_variant" not in config(mobile)["export"]
    scripts = tomllib.loads(read(edge, "pyproject.toml"))["project"]["scripts"]
    assert scripts[f"{edge.name.replace('_', '-')}-benchmark"] == f"{edge.name}.benchmark:main"
    mobile_scripts = tomllib.loads(read(mobile, "pyproject.toml"))["project"]["scripts"]
    assert mobile_scripts[f"{mobile.name.replace('_', '-')}-benchmark"] == (
        f"{mobile.name}.benchmark:main"
    )
    export = read(edge, "src/{pkg}/export.py")
    assert "def edge_bundle" in export and '"num_threads"' in export
    assert "edge_bundle" not in read(mobile, "src/{pkg}/export.py")
    benchmark = read(edge, "src/{pkg}/benchmark.py")
    assert "from ai_edge_litert.interpreter import Interpreter" in benchmark
    assert "import tensorflow" not in benchmark


# goal -> (deterministic, train.epochs for text, for images)
GOALS = {"prototype": (False, 10, 8), "research": (True, 20, 15), "production": (False, 20, 15)}


@pytest.mark.parametrize("goal", list(GOALS))
@pytest.mark.parametrize("task", ["text-classification", "image-classification"])
def test_goal_sets_the_training_defaults(render_project, goal, task):
    root = render_project("demo-tft", stack="tf-tflite", task=task, hardware="mobile", goal=goal)
    config = yaml.safe_load((root / "configs/train.yaml").read_text())
    deterministic, text_epochs, image_epochs = GOALS[goal]
    assert config["deterministic"] is deterministic
    assert config["train"]["epochs"] == (
        text_epochs if task == "text-classification" else image_epochs
    )
    assert f"## Defaults for your goal ({goal})" in (root / "README.md").read_text()


@pytest.mark.parametrize("name", CASES)
def test_report_is_measured_on_a_stratified_test_split(rendered, name):
    project = rendered[name]
    data = config(project)["data"]
    assert data["validation_split"] == data["test_split"] == 0.15
    assert data["drop_rare_classes"] is False
    assert config(project)["export"]["chance_margin"] == 0.05
    assert config(project)["export"]["max_accuracy_cost"] == 0.02
    assert '"model_bytes": len(flatbuffer)' in read(project, "src/{pkg}/export.py")
    assert "stratified_split(" in read(project, "src/{pkg}/data.py")
    export = read(project, "src/{pkg}/export.py")
    assert "data.x_test" in export and "data.x_val" not in export
    evaluate = read(project, "src/{pkg}/evaluate.py")
    assert "classification_report" in evaluate and "confusion_matrix" in evaluate
    assert any(d.startswith("scikit-learn") for d in dependencies(project))
    readme = read(project, "README.md")
    assert "test split" in readme and "near chance" in readme
