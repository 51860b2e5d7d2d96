"""The user's path on messy data, tf-tflite: the README's "your own data" setting and after.

A generated project is installed (stack_env.project_env: only what its pyproject declares,
so a fresh `make install`) and driven as its README says: point `data.path` (with
`image_size` and `channels`) in configs/train.yaml at your data, train, then predict under
LiteRT with the exported model. The data is drawn here (tests/integration/messy_images.py;
a CSV written with Excel's byte-order mark). Each step gives a correct result or one clear
error line, never a traceback:

- images: mixed sizes and modes, WebP, a corrupt JPEG, an empty class folder, non-ASCII
  class names (one in NFD): train (TensorBoard on, as configured: it must be installed),
  export (every TFLite variant), LiteRT predict on new images with the int8 model, and a
  corrupt image given to predict refused with one line naming it;
- text: a BOM-prefixed CSV with non-ASCII text (French, Japanese without spaces), labels
  typed in NFC and NFD, empty cells: train (the Japanese characters become tokens), then
  predict the same sentence in NFC and NFD (same answer); a class with 2 rows, too few for
  the train / validation / test split, refused with one line naming it.
"""

from __future__ import annotations

import json
import re
import time
import unicodedata
from pathlib import Path

import pytest

from tests.integration import messy_images, stack_env

pytestmark = pytest.mark.integration


def _set(config: Path, changes: dict[str, str]) -> None:
    """Edit `key: value` lines of the YAML config in place, as a user would (comments kept)."""
    text = config.read_text(encoding="utf-8")
    for key, value in changes.items():
        text, count = re.subn(rf"(?m)^(\s+{key}:)[^#\n]*", rf"\g<1> {value}  ", text, count=1)
        assert count == 1, f"{config} has no `{key}:` line"
    config.write_text(text, encoding="utf-8")


def _step(python: Path, args: list[str], cwd: Path, label: str, timings: dict[str, float]):
    result = stack_env.run_step(python, args, cwd, label, timings)
    assert "Traceback" not in result.stderr, f"{label}:\n{result.stderr[-3000:]}"
    return result


def _refused(python: Path, args: list[str], cwd: Path) -> str:
    """A step that must fail with one `error: ...` line and no traceback; returns that line."""
    result = stack_env.run_in(python, args, cwd)
    assert result.returncode == 2, (result.returncode, result.stderr[-3000:])
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: "), result.stderr[-3000:]
    return last


def _top_classes(stdout: str) -> dict[str, str]:
    """predict's `INPUT: label p, label p, ...` lines -> {INPUT: top label}."""
    top = {}
    for line in stdout.strip().splitlines():
        item, ranked = line.rsplit(": ", 1)
        top[item] = ranked.split(", ")[0].rsplit(" ", 1)[0]
    return top


def test_image_folder_train_export_litert_predict(render_project, tmp_path):
    started = time.perf_counter()
    project = render_project(
        "tf-messy", package_name="tf_messy", stack="tf-tflite", task="image-classification"
    )
    python = stack_env.project_env(project, tmp_path / "env")
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert "set as `data.path` in `configs/train.yaml` with `image_size` and\n`channels`" in readme
    drawn = Path(messy_images.__file__)
    made = stack_env.run_in(python, [str(drawn), "folder", "data/my-images"], project)
    assert made.returncode == 0, made.stderr
    made = stack_env.run_in(python, [str(drawn), "new", "data/new-images"], project)
    assert made.returncode == 0, made.stderr
    truth = json.loads(made.stdout)
    config = project / "configs" / "train.yaml"
    _set(config, {"path": "data/my-images", "image_size": "[24, 24]", "channels": "3"})
    # Small batches: the ~21 training images (70%: validation and test hold 15% each) still
    # make 18 optimizer steps in 3 epochs.
    _set(config, {"batch_size": "4", "representative_samples": "20", "throughput_samples": "10"})
    timings: dict[str, float] = {}

    # Train as the README's quick check does (TensorBoard stays on, as configured).
    train = ["-m", "tf_messy.train", "--config", "configs/train.yaml", "--epochs", "3"]
    result = _step(python, train, project, "train", timings)
    err = result.stderr
    assert "skipped 1 undecodable image" in err and messy_images.CORRUPT in err, err[-3000:]
    assert messy_images.EMPTY in err, err[-3000:]
    out = project / "artifacts"
    assert list((out / "tensorboard").rglob("events.out.tfevents.*")), "TensorBoard logs"
    labels = (out / "tflite" / "labels.txt").read_text(encoding="utf-8").splitlines()
    assert labels == messy_images.CLASSES  # NFC names, no class for the empty folder
    metadata = json.loads((out / "tflite" / "metadata.json").read_text(encoding="utf-8"))
    assert metadata["input"]["shape"][1:] == [24, 24, 3]
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    for variant in ("float32", "float16", "dynamic_range", "int8"):
        assert (out / "tflite" / f"model_{variant}.tflite").stat().st_size > 1000, variant
    assert {row["variant"] for row in report["variants"]} >= {"float32", "int8"}

    # LiteRT predict on new images: other sizes, modes and formats, a sub-folder.
    images = sorted(truth)
    predict = ["-m", "tf_messy.predict", "artifacts/tflite/model_int8.tflite"]
    result = _step(python, [*predict, *(f"data/new-images/{p}" for p in images)], project,
                   "LiteRT predict", timings)  # fmt: skip
    top = _top_classes(result.stdout)
    assert set(top) == {f"data/new-images/{p}" for p in images}, result.stdout
    right = sum(top[f"data/new-images/{p}"] == truth[p] for p in images)
    assert right >= 0.75 * len(images), result.stdout  # bright vs dark, if fed as trained
    broken = f"data/my-images/{messy_images.DARK}/{messy_images.CORRUPT}"
    line = _refused(python, [*predict, broken], project)
    assert messy_images.CORRUPT in line, line

    # The README's re-export (the SavedModel, every variant, the report) on the same folder.
    (out / "report.json").unlink()
    export = ["-m", "tf_messy.export", "--model", "artifacts/model.keras"]
    assert "python -m tf_messy.export --model artifacts/model.keras" in readme
    err = _step(python, export, project, "export", timings).stderr
    assert messy_images.CORRUPT in err, err[-3000:]  # the same warning, the same classes
    again = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert again["keras_accuracy"] == report["keras_accuracy"], (again, report)
    print(f"[tf-tflite messy images] {time.perf_counter() - started:.1f} s: {timings}")


NFD_CAFE = unicodedata.normalize("NFD", "café")


def _messy_csv() -> str:
    """Two topics in French and Japanese; labels typed in NFC and NFD; empty cells."""
    rows = ["text,label"]
    drinks = ["un café noir", "le thé vert du matin", "Crème brûlée et CAFÉ", "抹茶ラテ と 紅茶"]
    sports = [
        "le match de foot ce soir",
        "un but à la dernière minute",
        "サッカー の 試合",
        "Vélo et ÉTÉ",
    ]
    for i in range(40):
        drink = unicodedata.normalize("NFD" if i % 2 else "NFC", drinks[i % 4])
        rows.append(f'"{drink} {i}",{NFD_CAFE if i % 3 else "café"}')
        rows.append(f'"{sports[i % 4]}, {i}",sport')
    rows += ["un texte sans label,", ",café", '"",sport']  # empty cells: skipped and counted
    return "\r\n".join(rows) + "\r\n"


def test_text_csv_with_bom_and_unicode(render_project, tmp_path):
    started = time.perf_counter()
    project = render_project(
        "tf-text", package_name="tf_text", stack="tf-tflite", task="text-classification"
    )
    python = stack_env.project_env(project, tmp_path / "env")
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert (
        "a CSV with `text` and `label` columns, set as `data.path` in `configs/train.yaml`"
        in readme
    )
    (project / "data").mkdir(exist_ok=True)
    # Excel's "CSV UTF-8 (comma delimited)": a byte-order mark, CRLF line ends.
    (project / "data" / "excel.csv").write_bytes(_messy_csv().encode("utf-8-sig"))
    config = project / "configs" / "train.yaml"
    _set(config, {"path": "data/excel.csv", "representative_samples": "20"})
    _set(config, {"batch_size": "8", "throughput_samples": "10"})
    timings: dict[str, float] = {}

    train = ["-m", "tf_text.train", "--config", "configs/train.yaml", "--epochs", "8"]
    err = _step(python, train, project, "train", timings).stderr
    assert "skipped 3 row(s) with an empty text or label" in err, err[-3000:]
    out = project / "artifacts" / "tflite"
    labels = (out / "labels.txt").read_text(encoding="utf-8").splitlines()
    assert labels == ["café", "sport"]  # NFC and NFD spellings are one class
    vocab = set((out / "vocab.txt").read_text(encoding="utf-8").splitlines())
    assert {"café", "crème", "brûlée"} <= vocab and NFD_CAFE not in vocab
    assert {"抹", "茶", "試", "合"} <= vocab  # Japanese, written without spaces: per character
    report = json.loads((project / "artifacts" / "report.json").read_text(encoding="utf-8"))
    per_class = report["evaluation"]["models"]["keras"]["per_class"]
    assert report["split"] == "test" and set(per_class) == {"café", "sport"}

    nfc = "un café noir"
    predict = ["-m", "tf_text.predict", "artifacts/tflite/model_float32.tflite"]
    args = [*predict, "--text", nfc, "--text", unicodedata.normalize("NFD", nfc)]
    args += ["--text", "le match de foot"]
    result = _step(python, args, project, "LiteRT predict", timings)
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 3, result.stdout
    ranked = [line.rsplit(": ", 1)[1] for line in lines]
    assert ranked[0] == ranked[1], result.stdout  # NFD input: the same ids, the same answer
    assert ranked[0].startswith("café") and ranked[2].startswith("sport"), result.stdout

    # A class with 2 rows cannot be in train, validation and test: one line naming it.
    rare = _messy_csv() + '"un thé rare",thé\r\n"encore un thé",thé\r\n'
    (project / "data" / "rare.csv").write_bytes(rare.encode("utf-8-sig"))
    rare_config = project / "configs" / "rare.yaml"
    rare_config.write_text(config.read_text(encoding="utf-8"), encoding="utf-8")
    _set(rare_config, {"path": "data/rare.csv"})
    line = _refused(python, ["-m", "tf_text.train", "--config", "configs/rare.yaml"], project)
    assert "'thé' (2)" in line and "drop_rare_classes" in line, line
    print(f"[tf-tflite messy text] {time.perf_counter() - started:.1f} s: {timings}")
