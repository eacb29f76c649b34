"""Copy a TFLite bundle folder with one weight tensor of its model corrupted (test.sh's proof
that the JVM self-test runs the model instead of replaying embeddings).

The largest float32 constant tensor (the embedding layer's weights in nhkit's models) has the
sign bit of every value flipped in place; the copy's manifest gets the model's new sha256 so
that the bundle still verifies, and the engine must therefore run the corrupted weights. Reads
the flatbuffer with the schema module that ships in ai-edge-litert.

usage: python3 corrupt_model_weight.py SRC_BUNDLE_DIR DST_BUNDLE_DIR
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

import flatbuffers
from ai_edge_litert import schema_py_generated as schema

FLOAT32 = 0  # tflite TensorType.FLOAT32


def largest_float_constant(buf: bytes) -> tuple[str, int, int]:
    """(tensor name, absolute byte offset of its data, byte length)."""
    model = schema.Model.GetRootAsModel(buf, 0)
    best: tuple[str, int, int] | None = None
    graph = model.Subgraphs(0)
    for i in range(graph.TensorsLength()):
        t = graph.Tensors(i)
        b = model.Buffers(t.Buffer())
        if t.Type() != FLOAT32 or b.DataLength() == 0:
            continue
        field = b._tab.Offset(4)  # Buffer.data, inline in the flatbuffer
        start = b._tab.Vector(flatbuffers.number_types.UOffsetTFlags.py_type(field))
        if best is None or b.DataLength() > best[2]:
            best = (t.Name().decode(), start, b.DataLength())
    if best is None:
        raise SystemExit("no inline float32 weight tensor in the model")
    return best


def main(src: str, dst: str) -> None:
    s, d = Path(src), Path(dst)
    if d.exists():
        shutil.rmtree(d)
    shutil.copytree(s, d)
    model = d / "model.tflite"
    data = bytearray(model.read_bytes())
    old = hashlib.sha256(data).hexdigest()
    name, start, length = largest_float_constant(bytes(data))
    for i in range(start + 3, start + length, 4):  # little-endian float32: sign bit in byte 3
        data[i] ^= 0x80
    model.write_bytes(data)
    new = hashlib.sha256(data).hexdigest()
    manifest = d / "manifest.json"
    text = manifest.read_text(encoding="utf-8")
    if text.count(old) != 1:
        raise SystemExit(f"{manifest}: the model's sha256 is not listed exactly once")
    manifest.write_text(text.replace(old, new), encoding="utf-8")
    print(f"corrupted {name}: {length // 4} float32 weights negated in {model}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
