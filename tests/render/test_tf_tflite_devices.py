"""Layer 3, tf-tflite device paths: metadata, the benchmark, accelerator snippets, scale."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import yaml

from tests.render.checks import assert_text_is_clean, read

# hardware -> task: every hardware answer once, both tasks on the device targets
CASES = {
    "mobile_img": ("image-classification", "mobile"),
    "mobile_txt": ("text-classification", "mobile"),
    "edge_img": ("image-classification", "edge"),
    "browser_img": ("image-classification", "browser"),
    "browser_txt": ("text-classification", "browser"),
    "cpu_img": ("image-classification", "cpu"),
    "gpu_custom": ("custom", "gpu"),
    "multigpu_img": ("image-classification", "multi-gpu"),
    "tpu_custom": ("custom", "tpu"),
}
DEVICE_TARGETS = ("mobile", "edge", "browser")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Path]:
    from mlscaffold import scaffold

    root = tmp_path_factory.mktemp("tf_devices")
    projects = {}
    for name, (task, hardware) in CASES.items():
        answers = {"project_name": name, "stack": "tf-tflite", "task": task, "hardware": hardware}
        scaffold.render(root / name, {**answers, "ci": "none"})
        projects[name] = root / name
    return projects


@pytest.mark.parametrize("name", CASES)
def test_benchmark_for_every_target(rendered, name):
    project = rendered[name]
    scripts = tomllib.loads(read(project, "pyproject.toml"))["project"]["scripts"]
    assert scripts[f"{name.replace('_', '-')}-benchmark"] == f"{name}.benchmark:main"
    benchmark = read(project, "src/{pkg}/benchmark.py")
    assert "load_delegate" in benchmark and "import tensorflow" not in benchmark
    readme = read(project, "README.md")
    assert f"python -m {name}.benchmark artifacts/tflite/*.tflite" in readme
    assert "<!-- cmd: benchmark -->" in readme
    assert "test_every_variant_is_timed_in_one_call" in read(project, "tests/test_benchmark.py")


@pytest.mark.parametrize("name", CASES)
def test_metadata_inside_every_model(rendered, name):
    project = rendered[name]
    assert "project_metadata(flatbuffer, data)" in read(project, "src/{pkg}/export.py")
    metadata = read(project, "src/{pkg}/tflite_metadata.py")
    assert 'FILE_IDENTIFIER = b"M001"' in metadata and "import tensorflow" not in metadata
    deps = tomllib.loads(read(project, "pyproject.toml"))["project"]["dependencies"]
    assert any(d.startswith("flatbuffers") for d in deps)
    readme = read(project, "README.md")
    assert "### Metadata inside the model" in readme and "read_metadata" in readme


@pytest.mark.parametrize("name", CASES)
def test_accelerator_snippets_per_target(rendered, name):
    project = rendered[name]
    task, hardware = CASES[name]
    delegates = project / "DELEGATES.md"
    assert delegates.is_file() == (hardware in DEVICE_TARGETS)
    if hardware not in DEVICE_TARGETS:
        return
    text = delegates.read_text()
    assert_text_is_clean(project)
    assert "`DELEGATES.md`" in read(project, "README.md")
    wanted = {
        "mobile": [
            "GpuDelegate(",
            "CompatibilityList",
            "NnApiDelegate",
            "MetalDelegate()",
            "CoreMLDelegate()",
            "--use_gpu=true",
            "new GpuDelegate(",
        ],
        "edge": [
            'load_delegate("./libtensorflowlite_gpu_delegate.so")',
            "--delegate",
            "libedgetpu",
        ],
        "browser": ["tf.setBackend(backend)", '"webgpu"', '"wasm"', "loadAndCompile"],
    }[hardware]
    for snippet in wanted:
        assert snippet in text, snippet
    if task == "text-classification":
        assert "GATHER" in text and "int32 token ids" in text
    else:  # the normalisation the model and its metadata state: raw pixels, no /255
        assert "do **not** divide by 255" in text and "mean 0, std 1" in text
        assert "0.299 R + 0.587 G + 0.114 B" in text


@pytest.mark.parametrize("name", ["browser_img"])
def test_browser_snippet_takes_luminance_not_the_red_channel(rendered, name):
    # the page imports web/preprocess.mjs: luminance and the antialiased resize of training
    # (its output is held to read_image by the generated tests/test_tfjs.py)
    readme = read(rendered[name], "README.md")
    assert 'import { toModelInput } from "./web/preprocess.mjs"' in readme
    assert "fromPixels(" not in readme.split("```html")[1].split("```")[0]
    assert "resizeBilinear(" not in readme
    preprocess = read(rendered[name], "web/preprocess.mjs")
    assert "LUMA = [0.299, 0.587, 0.114]" in preprocess
    assert "Math.max(invScale, 1)" in preprocess  # antialias: the kernel widens when shrinking


def config(project: Path) -> dict:
    return yaml.safe_load(read(project, "configs/train.yaml"))
