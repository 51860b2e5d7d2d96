"""Layer 3 for tf-tflite's scale-out settings (issue 18): TPU settings per hardware answer,
MultiWorkerMirroredStrategy from TF_CONFIG with its 2-worker test, gs:// data paths."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.render.checks import assert_python_is_clean, assert_text_is_clean, read, render_all

# name -> answers; hardware values the stack takes: servers (tpu, gpu, cpu) and devices
CASES = {
    "scale_tpu": {"task": "custom", "hardware": "tpu"},
    "scale_txt_tpu": {"task": "text-classification", "hardware": "tpu"},
    "scale_gpu": {"task": "image-classification", "hardware": "gpu", "ci": "none"},
    "scale_mobile": {"task": "image-classification", "hardware": "mobile", "ci": "none"},
}
SERVERS = ("cpu", "gpu", "multi-gpu", "tpu")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Path]:
    return render_all(tmp_path_factory.mktemp("tf_tflite_scale"), "tf-tflite", CASES)


@pytest.mark.parametrize("name", CASES)
def test_tpu_settings_follow_the_hardware_answer(rendered, name):
    config = yaml.safe_load(read(rendered[name], "configs/train.yaml"))
    tpu = CASES[name]["hardware"] == "tpu"
    dist = config["distribute"]
    assert dist["steps_per_execution"] == (32 if tpu else 1)
    assert dist["precision"] == ("mixed_bfloat16" if tpu else "float32")
    assert config["data"]["drop_remainder"] is tpu
    assert "gs://" in read(rendered[name], "configs/train.yaml")  # data.path may be a bucket
    train = read(rendered[name], f"src/{name}/train.py")
    assert "**options" in train and "portable_model(model, strategy, precision)" in train
    model = read(rendered[name], f"src/{name}/model.py")
    # Keras' mixed-precision guide: the softmax output layer stays float32
    assert model.count('activation="softmax", dtype="float32", name="probabilities"') >= 1


@pytest.mark.parametrize("name", CASES)
def test_multi_worker_strategy_and_its_test(rendered, name):
    project = rendered[name]
    distribute = read(project, f"src/{name}/distribute.py")
    assert "MultiWorkerMirroredStrategy()" in distribute and "TF_CONFIG" in distribute
    assert f"from {name} import keras_multi_worker" in distribute
    assert "keras-team/keras#20585" in read(project, f"src/{name}/keras_multi_worker.py")
    tests = read(project, "tests/test_distribute.py")
    assert "ram://" in tests  # the tf.io.gfile data path, tested offline
    two_workers = "def test_two_cpu_workers_train_one_model" in tests
    # the 2-worker run (~30 s) is generated for server targets only
    assert two_workers is (CASES[name]["hardware"] in SERVERS)
    if two_workers:
        assert "pytest.skip" in tests and "127.0.0.1" in tests
    readme = read(project, "README.md")
    assert "### Scaling out: TPU settings, mixed precision, several machines" in readme
    for index in (0, 1):
        assert f'"task": {{"type": "worker", "index": {index}}}' in readme
    assert f"python -m {name}.train --config configs/train.yaml" in readme


@pytest.mark.parametrize("name", CASES)
def test_clean(rendered, name):
    assert_text_is_clean(rendered[name])
    assert_python_is_clean(rendered[name])
