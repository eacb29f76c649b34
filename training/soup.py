"""Average the weights of candidates of one lineage into one model (a uniform "model soup").

Why: phases 12-14 each moved one evaluation set's closest distinct pair out and let another pair
close in; the candidates are successive fine-tunes of one network (v8q -> v12d -> v13x -> v14m,
frozen BN, same seed), so they sit in one basin of the loss, and averaging such fine-tunes is a
known way (Wortsman et al. 2022, "Model soups") to keep what each learned while smoothing the
directions only one of them took. It costs no training, so it is a lever this 2-core machine can
try in minutes.

The average is taken over the exported ONNX initializers (convolutions with their batch norm
folded in, the head with its scale): the graphs must be identical node for node and the seeds
byte for byte, or the script stops naming the member that differs. `--check` hashes a folder
of *training* photos with the soup and with each member and prints the mean Hamming distance
between them: a soup far from its members (tens of bits) has left the basin and is not worth
evaluating. No evaluation photo is read here.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import model_folder
import numpy as np
import onnx
from onnx import numpy_helper
from photo_hashes import hash_all, hasher_for

from nhkit.runtime.atomic import write_bytes_atomic, write_text_atomic
from nhkit.runtime.digest import onnx_fingerprint, sha256_file


def graph_signature(model: onnx.ModelProto) -> bytes:
    """The graph without its initializer values: what must match for an average to mean anything."""
    g = onnx.GraphProto()
    g.CopyFrom(model.graph)
    del g.initializer[:]
    return g.SerializeToString(deterministic=True)


def average(
    models: list[onnx.ModelProto], names: list[str], weights: list[float]
) -> onnx.ModelProto:
    """The first member's graph with every float initializer replaced by the weighted mean."""
    sig = graph_signature(models[0])
    ref = {t.name: numpy_helper.to_array(t) for t in models[0].graph.initializer}
    for m, name in zip(models[1:], names[1:]):
        if graph_signature(m) != sig:
            raise SystemExit(f"{name}: graph differs from {names[0]}'s; only one lineage averages")
        shapes = {t.name: tuple(t.dims) for t in m.graph.initializer}
        if shapes != {k: v.shape for k, v in ref.items()}:
            raise SystemExit(f"{name}: initializers differ in names or shapes from {names[0]}'s")
    out = onnx.ModelProto()
    out.CopyFrom(models[0])
    arrays = [{t.name: numpy_helper.to_array(t) for t in m.graph.initializer} for m in models]
    for t in out.graph.initializer:
        a0 = arrays[0][t.name]
        if not np.issubdtype(a0.dtype, np.floating):
            continue  # shapes and indices are the same in every member (checked above)
        mean = sum(w * arr[t.name].astype(np.float64) for w, arr in zip(weights, arrays))
        t.CopyFrom(numpy_helper.from_array(mean.astype(a0.dtype), t.name))
    return out


def check(out_dir: str, members: list[str], photos: str, n: int) -> dict[str, float]:
    """Mean Hamming distance between the soup's hashes and each member's on n training photos."""
    from nhkit.runtime.hasher import collect_images

    found, problems = collect_images([photos], recursive=True)
    if problems:
        raise SystemExit(f"{photos}: " + "; ".join(f"{p}: {r}" for p, r in problems))
    paths = sorted(found)[:n]

    def bits(d: str) -> np.ndarray:
        return np.array([r.bits for r in hash_all(hasher_for(d), paths)])

    soup = bits(out_dir)
    return {m: float(np.mean(np.sum(soup != bits(m), axis=1))) for m in members}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("members", nargs="+", help="candidate folders (model.onnx, model.json, seed)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--weights", help="comma-separated, one per member; default uniform")
    ap.add_argument("--check", metavar="DIR", help="a folder of training photos to compare on")
    ap.add_argument("--check-n", type=int, default=64)
    a = ap.parse_args()
    k = len(a.members)
    weights = [float(w) for w in a.weights.split(",")] if a.weights else [1.0 / k] * k
    if len(weights) != k or abs(sum(weights) - 1.0) > 1e-6:
        raise SystemExit(f"--weights: {k} weights summing to 1 expected, got {weights}")
    for m in a.members:
        model_folder.require(m, "candidate")
    seeds = [Path(m, "seed.f32").read_bytes() for m in a.members]
    for m, s in zip(a.members[1:], seeds[1:]):
        if s != seeds[0]:
            raise SystemExit(f"{m}: seed.f32 differs from {a.members[0]}'s")
    models = [onnx.load(os.path.join(m, "model.onnx")) for m in a.members]
    soup = average(models, a.members, weights)
    os.makedirs(a.out, exist_ok=True)
    onnx_path = os.path.join(a.out, "model.onnx")
    write_bytes_atomic(onnx_path, soup.SerializeToString())
    for f in ("seed.f32", "seed.dat"):
        write_bytes_atomic(os.path.join(a.out, f), Path(a.members[0], f).read_bytes())
    infos = [json.loads(Path(m, "model.json").read_text()) for m in a.members]
    info = dict(infos[0])
    info.update(
        name=a.name,
        version=a.version,
        onnx_sha256=sha256_file(onnx_path),
        fingerprint=onnx_fingerprint(onnx_path),
        verification_onnxruntime_vs_keras=None,  # no Keras model of the soup exists
        training=None,
        soup={
            "members": [
                {"folder": m, "fingerprint": i["fingerprint"], "weight": w}
                for m, i, w in zip(a.members, infos, weights)
            ],
            "over": "ONNX initializers (BN folded), graphs identical, seeds identical",
        },
    )
    if a.check:
        info["soup"]["mean_bits_to_members_on_training_photos"] = check(
            a.out, a.members, a.check, a.check_n
        )
        info["soup"]["check_photos"] = f"{a.check} (first {a.check_n} by name)"
    write_text_atomic(os.path.join(a.out, "model.json"), json.dumps(info, indent=1) + "\n")
    print(json.dumps(info["soup"], indent=1))


if __name__ == "__main__":
    main()
