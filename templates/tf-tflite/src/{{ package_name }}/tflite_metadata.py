"""TFLite model metadata: labels and input normalisation inside the `.tflite` file.

The LiteRT (TensorFlow Lite) metadata format is what Model Maker writes and what MediaPipe
Tasks and the LiteRT support library read: a `ModelMetadata` flatbuffer (schema
`metadata_schema.fbs`, file identifier `M001`) stored in the model's `TFLITE_METADATA`
buffer, and the files it names (`labels.txt`, `vocab.txt`) packed as a zip archive appended
to the model. The model still loads in every LiteRT interpreter unchanged: the flatbuffer
is read from the start of the file, the zip from its end.

Written here with the `flatbuffers` package and LiteRT's own model schema
(`ai_edge_litert`): the metadata writers of `tflite-support` (protobuf < 4, no wheel for
this TensorFlow) and of `mediapipe` (its Python wheels lack the compiled
`_pywrap_metadata_version` the writers import) do not install or import beside TensorFlow
2.21. This module imports no TensorFlow: an app's build step can run `read_metadata` too.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import flatbuffers
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.tools import flatbuffer_utils
from flatbuffers import number_types as nt
from flatbuffers.table import Table

METADATA_NAME = b"TFLITE_METADATA"
FILE_IDENTIFIER = b"M001"
# metadata_schema.fbs enums used here
FILE_TYPES = {1: "DESCRIPTIONS", 2: "TENSOR_AXIS_LABELS", 5: "VOCABULARY"}
TENSOR_AXIS_LABELS, VOCABULARY = 2, 5
COLOR_SPACES = {1: "RGB", 2: "GRAYSCALE"}
FEATURE_PROPERTIES, IMAGE_PROPERTIES = 1, 2  # ContentProperties union
NORMALIZATION_OPTIONS = 1  # ProcessUnitOptions union


@dataclass
class TensorInfo:
    """What the metadata says about one input or output tensor."""

    name: str
    description: str
    image: dict[str, Any] | None = None  # {"color_space", "height", "width"}
    mean: list[float] | None = None  # NormalizationOptions: (x - mean) / std
    std: list[float] | None = None
    value_range: tuple[float, float] | None = None  # Stats min/max
    files: list[tuple[str, str, str]] = field(default_factory=list)  # (name, type, description)


@dataclass
class ModelInfo:
    name: str
    description: str
    version: str
    author: str
    license: str
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    min_parser_version: str = "1.0.0"


# -- writing ------------------------------------------------------------------------------


def _strings(builder: flatbuffers.Builder, **values: str) -> dict[str, int]:
    return {key: builder.CreateString(value) for key, value in values.items() if value}


def _vector(builder: flatbuffers.Builder, offsets: list[int]) -> int:
    builder.StartVector(4, len(offsets), 4)
    for offset in reversed(offsets):
        builder.PrependUOffsetTRelative(offset)
    return builder.EndVector()


def _floats(builder: flatbuffers.Builder, values: list[float]) -> int:
    builder.StartVector(4, len(values), 4)
    for value in reversed(values):
        builder.PrependFloat32(float(value))
    return builder.EndVector()


def _associated_file(builder: flatbuffers.Builder, name: str, kind: int, about: str) -> int:
    text = _strings(builder, name=name, description=about)
    builder.StartObject(5)  # name, description, type, locale, version
    builder.PrependUOffsetTRelativeSlot(0, text["name"], 0)
    if "description" in text:
        builder.PrependUOffsetTRelativeSlot(1, text["description"], 0)
    builder.PrependInt8Slot(2, kind, 0)
    return builder.EndObject()


def _tensor(builder: flatbuffers.Builder, info: TensorInfo, file_kinds: dict[str, int]) -> int:
    text = _strings(builder, name=info.name, description=info.description)
    files = [
        _associated_file(builder, name, file_kinds[kind], about) for name, kind, about in info.files
    ]
    files_vec = _vector(builder, files) if files else 0
    # Content: ImageProperties (colour space, default size) or FeatureProperties
    if info.image:
        builder.StartObject(2)  # ImageSize: width, height
        builder.PrependUint32Slot(0, int(info.image["width"]), 0)
        builder.PrependUint32Slot(1, int(info.image["height"]), 0)
        size = builder.EndObject()
        builder.StartObject(2)  # ImageProperties: color_space, default_size
        space = {v: k for k, v in COLOR_SPACES.items()}[info.image["color_space"]]
        builder.PrependInt8Slot(0, space, 0)
        builder.PrependUOffsetTRelativeSlot(1, size, 0)
        properties, properties_type = builder.EndObject(), IMAGE_PROPERTIES
    else:
        builder.StartObject(0)
        properties, properties_type = builder.EndObject(), FEATURE_PROPERTIES
    builder.StartObject(3)  # Content: content_properties_type, content_properties, range
    builder.PrependUint8Slot(0, properties_type, 0)
    builder.PrependUOffsetTRelativeSlot(1, properties, 0)
    content = builder.EndObject()
    units = 0
    if info.mean is not None and info.std is not None:
        mean, std = _floats(builder, info.mean), _floats(builder, info.std)
        builder.StartObject(2)  # NormalizationOptions: mean, std
        builder.PrependUOffsetTRelativeSlot(0, mean, 0)
        builder.PrependUOffsetTRelativeSlot(1, std, 0)
        options = builder.EndObject()
        builder.StartObject(2)  # ProcessUnit: options_type, options
        builder.PrependUint8Slot(0, NORMALIZATION_OPTIONS, 0)
        builder.PrependUOffsetTRelativeSlot(1, options, 0)
        units = _vector(builder, [builder.EndObject()])
    stats = 0
    if info.value_range is not None:
        high, low = _floats(builder, [info.value_range[1]]), _floats(builder, [info.value_range[0]])
        builder.StartObject(2)  # Stats: max, min
        builder.PrependUOffsetTRelativeSlot(0, high, 0)
        builder.PrependUOffsetTRelativeSlot(1, low, 0)
        stats = builder.EndObject()
    # TensorMetadata: name, description, dimension_names, content, process_units, stats,
    # associated_files
    builder.StartObject(7)
    builder.PrependUOffsetTRelativeSlot(0, text["name"], 0)
    if "description" in text:
        builder.PrependUOffsetTRelativeSlot(1, text["description"], 0)
    builder.PrependUOffsetTRelativeSlot(3, content, 0)
    if units:
        builder.PrependUOffsetTRelativeSlot(4, units, 0)
    if stats:
        builder.PrependUOffsetTRelativeSlot(5, stats, 0)
    if files_vec:
        builder.PrependUOffsetTRelativeSlot(6, files_vec, 0)
    return builder.EndObject()


def metadata_buffer(info: ModelInfo) -> bytes:
    """The `ModelMetadata` flatbuffer (identifier M001) for `info`."""
    kinds = {"TENSOR_AXIS_LABELS": TENSOR_AXIS_LABELS, "VOCABULARY": VOCABULARY}
    builder = flatbuffers.Builder(1024)
    inputs = _vector(builder, [_tensor(builder, t, kinds) for t in info.inputs])
    outputs = _vector(builder, [_tensor(builder, t, kinds) for t in info.outputs])
    builder.StartObject(4)  # SubGraphMetadata: name, description, inputs, outputs (of 10)
    builder.PrependUOffsetTRelativeSlot(2, inputs, 0)
    builder.PrependUOffsetTRelativeSlot(3, outputs, 0)
    subgraph = _vector(builder, [builder.EndObject()])
    text = _strings(
        builder,
        name=info.name,
        description=info.description,
        version=info.version,
        author=info.author,
        license=info.license,
        min_parser_version=info.min_parser_version,
    )
    builder.StartObject(8)  # ModelMetadata
    for slot, key in [(0, "name"), (1, "description"), (2, "version"), (4, "author")]:
        if key in text:
            builder.PrependUOffsetTRelativeSlot(slot, text[key], 0)
    if "license" in text:
        builder.PrependUOffsetTRelativeSlot(5, text["license"], 0)
    builder.PrependUOffsetTRelativeSlot(3, subgraph, 0)
    builder.PrependUOffsetTRelativeSlot(7, text["min_parser_version"], 0)
    builder.Finish(builder.EndObject(), file_identifier=FILE_IDENTIFIER)
    return bytes(builder.Output())


def add_metadata(model: bytes, info: ModelInfo, files: dict[str, bytes]) -> bytes:
    """`model` (the converter's .tflite, no files packed yet) with `info` and `files` in it."""
    names = {name for tensor in info.inputs + info.outputs for name, _, _ in tensor.files}
    if names != set(files):
        raise ValueError(f"metadata names files {sorted(names)}, given {sorted(files)}")
    flat = flatbuffer_utils.read_model_from_bytearray(bytearray(model))
    buffer = schema.BufferT()
    buffer.data = list(metadata_buffer(info))
    flat.metadata = [m for m in flat.metadata or [] if m.name != METADATA_NAME]
    flat.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = METADATA_NAME
    entry.buffer = len(flat.buffers) - 1
    flat.metadata.append(entry)
    packed = io.BytesIO(bytes(flatbuffer_utils.convert_object_to_bytearray(flat)))
    packed.seek(0, io.SEEK_END)
    with zipfile.ZipFile(packed, "a", zipfile.ZIP_STORED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return packed.getvalue()


def classifier_metadata(
    model: bytes,
    *,
    name: str,
    version: str,
    labels: list[str],
    input_shape: tuple[int, ...],
    vocab: list[str] | None = None,
    license: str = "",
) -> bytes:
    """`model` with the metadata of this project's classifiers: what Model Maker writes.

    Images: the input is raw pixels 0..255 (the model rescales them itself), so the
    normalisation is mean 0, std 1 per channel, with the colour space and the size. Text: the
    input is token ids; `vocab.txt` is packed and named on the input tensor, the rule that
    makes the ids is described there (text_encoding.py). Either way the output names
    `labels.txt` (TENSOR_AXIS_LABELS), which is packed too.
    """
    files = {"labels.txt": "".join(f"{label}\n" for label in labels).encode("utf-8")}
    if vocab is None:
        height, width, channels = input_shape
        model_input = TensorInfo(
            name="image",
            description=f"raw pixels 0..255, {height}x{width}x{channels}; the model rescales",
            image={
                "color_space": "RGB" if channels == 3 else "GRAYSCALE",
                "height": height,
                "width": width,
            },
            mean=[0.0] * channels,
            std=[1.0] * channels,
            value_range=(0.0, 255.0),
        )
        about = "Image classifier (Keras 3, exported to LiteRT)"
    else:
        files["vocab.txt"] = "".join(f"{token}\n" for token in vocab).encode("utf-8")
        model_input = TensorInfo(
            name="token_ids",
            description=(
                f"int32 token ids, {input_shape[0]} per text, padded with 0: NFC, lowercase, "
                "ASCII punctuation removed, split on Unicode whitespace, CJK/Thai characters "
                "one token each, looked up in vocab.txt (line = id, 1 = unknown)"
            ),
            files=[("vocab.txt", "VOCABULARY", "token of id i on line i")],
        )
        about = "Text classifier on token ids (Keras 3, exported to LiteRT)"
    info = ModelInfo(
        name=name,
        description=about,
        version=version,
        author="",
        license=license,
        inputs=[model_input],
        outputs=[
            TensorInfo(
                name="probability",
                description="class probabilities (softmax), in labels.txt order",
                files=[("labels.txt", "TENSOR_AXIS_LABELS", "class names, one per line")],
            )
        ],
        # VOCABULARY files arrived in metadata parser 1.0.1
        min_parser_version="1.0.0" if vocab is None else "1.0.1",
    )
    return add_metadata(model, info, files)


def project_metadata(model: bytes, data: Any) -> bytes:
    """`classifier_metadata` with this package's name, version and license, `data`'s labels
    and input (`class_names`, `input_shape`, and `vocab` for text)."""
    package = __name__.rpartition(".")[0]
    try:
        meta = importlib.metadata.metadata(package)
        found = meta.get_all("License-Expression") or meta.get_all("License") or [""]
        license = str(found[0])
    except importlib.metadata.PackageNotFoundError:  # run from a source tree
        license = ""
    return classifier_metadata(
        model,
        name=package,
        version=str(getattr(importlib.import_module(package), "__version__", "")),
        labels=list(data.class_names),
        input_shape=tuple(data.input_shape),
        vocab=list(data.vocab) if hasattr(data, "vocab") else None,
        license=license,
    )


# -- reading ------------------------------------------------------------------------------


def _field(table: Table, slot: int) -> int:
    return table.Offset(4 + 2 * slot)


def _string(table: Table, slot: int) -> str:
    offset = _field(table, slot)
    return table.String(offset + table.Pos).decode("utf-8") if offset else ""


def _tables(table: Table, slot: int) -> list[Table]:
    offset = _field(table, slot)
    if not offset:
        return []
    start = table.Vector(offset)
    return [
        Table(table.Bytes, table.Indirect(start + 4 * i)) for i in range(table.VectorLen(offset))
    ]


def _child(table: Table, slot: int) -> Table | None:
    offset = _field(table, slot)
    return Table(table.Bytes, table.Indirect(offset + table.Pos)) if offset else None


def _scalar(table: Table, slot: int, flags: Any, default: int = 0) -> int:
    offset = _field(table, slot)
    return table.Get(flags, offset + table.Pos) if offset else default


def _float_list(table: Table, slot: int) -> list[float]:
    offset = _field(table, slot)
    if not offset:
        return []
    start = table.Vector(offset)
    return [
        float(table.Get(nt.Float32Flags, start + 4 * i)) for i in range(table.VectorLen(offset))
    ]


def _union(table: Table, type_slot: int) -> tuple[int, Table | None]:
    kind = _scalar(table, type_slot, nt.Uint8Flags)
    offset = _field(table, type_slot + 1)
    if not kind or not offset:
        return kind, None
    union = Table(bytearray(), 0)
    table.Union(union, offset)
    return kind, union


def _read_tensor(table: Table) -> TensorInfo:
    info = TensorInfo(name=_string(table, 0), description=_string(table, 1))
    content = _child(table, 3)
    if content is not None:
        kind, properties = _union(content, 0)
        if kind == IMAGE_PROPERTIES and properties is not None:
            size = _child(properties, 1)
            info.image = {
                "color_space": COLOR_SPACES.get(_scalar(properties, 0, nt.Int8Flags), "UNKNOWN"),
                "width": _scalar(size, 0, nt.Uint32Flags) if size else 0,
                "height": _scalar(size, 1, nt.Uint32Flags) if size else 0,
            }
    for unit in _tables(table, 4):
        kind, options = _union(unit, 0)
        if kind == NORMALIZATION_OPTIONS and options is not None:
            info.mean, info.std = _float_list(options, 0), _float_list(options, 1)
    stats = _child(table, 5)
    if stats is not None:
        high, low = _float_list(stats, 0), _float_list(stats, 1)
        if high and low:
            info.value_range = (low[0], high[0])
    for item in _tables(table, 6):
        file_type = FILE_TYPES.get(_scalar(item, 2, nt.Int8Flags), "UNKNOWN")
        info.files.append((_string(item, 0), file_type, _string(item, 1)))
    return info


def read_metadata(path_or_bytes: str | Path | bytes) -> tuple[ModelInfo, dict[str, bytes]]:
    """The metadata of a .tflite file and the files packed in it (KeyError: none there)."""
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    model = schema.Model.GetRootAs(bytearray(data), 0)
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        if entry.Name() == METADATA_NAME:
            raw = model.Buffers(entry.Buffer()).DataAsNumpy().tobytes()
            break
    else:
        raise KeyError("no TFLITE_METADATA in this model")
    if raw[4:8] != FILE_IDENTIFIER:
        raise ValueError("TFLITE_METADATA is not a ModelMetadata flatbuffer (M001)")
    root = Table(bytearray(raw), int.from_bytes(raw[:4], "little"))
    subgraph = _tables(root, 3)[0]
    info = ModelInfo(
        name=_string(root, 0),
        description=_string(root, 1),
        version=_string(root, 2),
        author=_string(root, 4),
        license=_string(root, 5),
        inputs=[_read_tensor(t) for t in _tables(subgraph, 2)],
        outputs=[_read_tensor(t) for t in _tables(subgraph, 3)],
        min_parser_version=_string(root, 7),
    )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            files = {name: archive.read(name) for name in archive.namelist()}
    except zipfile.BadZipFile:
        files = {}
    return info, files
