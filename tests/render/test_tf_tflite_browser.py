"""Layer 3, tf-tflite browser path and MediaPipe read-back: web/, browser_check, dev extra.

The browser project ships the npm package a web user checks parity with (web/: pinned
pure-JS TF.js, a lock file, the preprocessing module and the Node runner); image projects
declare MediaPipe in their dev extra for tests/test_mediapipe.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.render.checks import read, render_all

CASES = {
    "web_img": {"task": "image-classification", "hardware": "browser"},
    "web_txt": {"task": "text-classification", "hardware": "browser"},
    "img_mobile": {"task": "image-classification", "hardware": "mobile"},
    "txt_edge": {"task": "text-classification", "hardware": "edge"},
    "custom_cpu": {"task": "custom", "hardware": "cpu"},
}
BROWSER = [name for name, answers in CASES.items() if answers["hardware"] == "browser"]
TFJS = {"@tensorflow/tfjs-core", "@tensorflow/tfjs-backend-cpu", "@tensorflow/tfjs-converter"}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Path]:
    return render_all(tmp_path_factory.mktemp("tf_tflite_browser"), "tf-tflite", CASES)


@pytest.mark.parametrize("name", BROWSER)
def test_web_package_pins_pure_js_tfjs_and_its_lock_matches(rendered, name):
    package = json.loads(read(rendered[name], "web/package.json"))
    lock = json.loads(read(rendered[name], "web/package-lock.json"))
    assert package["name"] == lock["name"] == f"{name.replace('_', '-')}-web"
    assert package["private"] is True and package["type"] == "module"
    deps = package["dependencies"]
    assert set(deps) == TFJS, deps  # no @tensorflow/tfjs-node: it downloads a native binary
    assert all(version == "4.22.0" for version in deps.values()), deps  # exact pins
    assert lock["lockfileVersion"] == 3
    assert lock["packages"][""]["dependencies"] == deps
    for path, entry in lock["packages"].items():
        if path:
            assert entry.get("integrity", "").startswith("sha512-"), path
    for dep, version in deps.items():
        assert lock["packages"][f"node_modules/{dep}"]["version"] == version


@pytest.mark.parametrize("name", BROWSER)
def test_node_scripts_parse_and_load_from_disk(rendered, name):
    predict = read(rendered[name], "web/predict.mjs")
    assert "loadGraphModel(fromDisk(folder))" in predict and "weightsManifest" in predict
    assert "tfjs-node" not in predict.replace("@tensorflow/tfjs-node downloads", "")
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed here")
    for script in ("web/predict.mjs", "web/preprocess.mjs"):
        result = subprocess.run(
            [node, "--check", str(rendered[name] / script)], capture_output=True, text=True
        )
        assert result.returncode == 0, f"{script}: {result.stderr}"


@pytest.mark.parametrize("name", BROWSER)
def test_preprocessing_module_is_the_task_rule(rendered, name):
    module = read(rendered[name], "web/preprocess.mjs")
    check = read(rendered[name], "src/{pkg}/browser_check.py")
    readme = read(rendered[name], "README.md")
    if CASES[name]["task"] == "text-classification":
        assert "export function encode(" in module and 'normalize("NFC")' in module
        assert "toModelInput" not in module
        assert f"from {name}.text_encoding import encode, load_vocab" in check
        assert 'import { encode, parseVocab } from "./web/preprocess.mjs"' in readme
    else:
        assert "export function toModelInput(" in module and "encode" not in module
        assert "read_image" in check and "RGBA" in check
        assert 'import { toModelInput } from "./web/preprocess.mjs"' in readme
    commands = readme.split("<!-- cmd: browser-check -->\n```bash\n")[1].split("```")[0]
    assert commands.splitlines() == [
        "(cd web && npm ci)",
        f"python -m {name}.browser_check --tfjs artifacts/tfjs --model artifacts/model.keras",
    ]
    tests = read(rendered[name], "tests/test_tfjs.py")
    assert ".venv-tfjs" in tests and "run_check(" in tests and "js_inputs(" in tests
    # the converter's venv lives in the project: ruff must not lint it, in git or not
    ruff = tomllib.loads(read(rendered[name], "pyproject.toml"))["tool"]["ruff"]
    assert ".venv-tfjs" in ruff["extend-exclude"]


@pytest.mark.parametrize("name", CASES)
def test_image_projects_declare_mediapipe_for_the_metadata_read_back(rendered, name):
    meta = tomllib.loads(read(rendered[name], "pyproject.toml"))
    dev = meta["project"]["optional-dependencies"]["dev"]
    image = CASES[name]["task"] != "text-classification"
    assert ("mediapipe>=1.2" in dev) == image, dev
    assert meta["dependency-groups"]["dev"] == dev
    assert dev[:3] == ["pytest>=8", "ruff>=0.6", "pre-commit>=3"]
    assert not any(d.startswith("mediapipe") for d in meta["project"]["dependencies"])
    test = rendered[name] / "tests" / "test_mediapipe.py"
    assert test.is_file() == image
    if image:
        text = test.read_text()
        assert "ImageClassifier" in text and "LiteRTModel(path).predict" in text
