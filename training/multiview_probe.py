"""Does averaging a model's embeddings over centre zooms (`multiview.py`) bring crops and
borders closer without bringing distinct photos closer? A probe on a trained model's own
weights, on a split's *training* photos, before any training or evaluation.

Each ladder of scales wraps the model and hashes every training photo and its edited copies
through onnxruntime; the ladder `1` is the model itself and must give the runtime's hashes bit
for bit (checked and reported). The weights were trained on single views, so this is what the
wrap gives as it stands, not what training with it could reach. No evaluation photo is read.
`--standardize` adds rows with each photo's input moved to the median training photo's mean
and spread first (`standardize.py`), the probe of that lever on the same terms.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator

import numpy as np
import onnx
import onnxruntime as ort
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "benchmarks"))

import data  # noqa: E402
from calib_set import cross_distances  # noqa: E402
from mine_negatives import near_duplicates  # noqa: E402
from multiview import parse_scales, wrap  # noqa: E402
from photo_hashes import distinct_tail, hasher_for, write_probe  # noqa: E402
from standardize import MODES, moments, standardize  # noqa: E402

from nhkit.runtime.decode import decode_image  # noqa: E402
from nhkit.runtime.edits import apply_edit, edit_seed, get_edit  # noqa: E402
from nhkit.runtime.hasher import Hasher  # noqa: E402
from nhkit.runtime.hashing import bits_from_projections, project  # noqa: E402
from nhkit.runtime.tensor import normalise  # noqa: E402

BATCH = 16


def _tensors(rgb360: np.ndarray) -> Iterator[np.ndarray]:
    """NCHW tensors of the pixels, BATCH at a time (the whole set as float would take
    gigabytes)."""
    for i in range(0, len(rgb360), BATCH):
        yield normalise(rgb360[i : i + BATCH], "NCHW")


def embed(
    sess: ort.InferenceSession,
    rgb360: np.ndarray,
    mode: str = "plain",
    target: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Embeddings of N x 360 x 360 x 3 uint8 pixels, in batches, each tensor standardized by
    `mode` (standardize.py) first."""
    out = [
        sess.run(["embedding"], {"image": standardize(x, mode, target)})[0]
        for x in _tensors(rgb360)
    ]
    return np.concatenate(out)


def photo_views(
    hasher: Hasher, rgb: np.ndarray, path: str, edits: list[str]
) -> dict[str, np.ndarray]:
    """A decoded photo's 360 x 360 model inputs: `orig` and one per edit, each edit seeded by
    the photo's path as the evaluation seeds it, so probes see the evaluation's edits."""
    views = {"orig": hasher.prepare_rgb(rgb).rgb360}
    for e in edits:
        edited = apply_edit(get_edit(e), Image.fromarray(rgb), edit_seed(path))
        views[e] = hasher.prepare_rgb(np.asarray(edited, np.uint8)).rgb360
    return views


def prepared(hasher: Hasher, paths: list[str], edits: list[str]) -> dict[str, np.ndarray]:
    """Every photo's model inputs (photo_views), `orig` and one per edit, stacked per kind:
    N x 360 x 360 x 3 uint8 each."""
    pixels: dict[str, list[np.ndarray]] = {k: [] for k in ["orig", *edits]}
    for path in paths:
        rgb = np.asarray(decode_image(path).rgb, dtype=np.uint8)
        for k, v in photo_views(hasher, rgb, path, edits).items():
            pixels[k].append(v)
    return {k: np.stack(v) for k, v in pixels.items()}


def edit_distances(
    bits: dict[str, np.ndarray], edits: list[str], threshold: int
) -> dict[str, dict[str, float]]:
    """Per edit, the probes' figures of the distance from each photo's hash to its edited
    copy's: mean, p90 and the share matched at `threshold`."""
    out = {}
    for e in edits:
        d = np.sum(bits["orig"] != bits[e], axis=1)
        out[e] = {
            "mean": round(float(d.mean()), 3),
            "p90": float(np.quantile(d, 0.9)),
            f"matched_at_{threshold}": round(float(np.mean(d <= threshold)), 4),
        }
    return out


def typical_target(rgb360: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """The median training photo's mean and spread under `mode`, the point every photo is
    moved to when the mode standardizes to a target."""
    pairs = [moments(x, mode) for x in _tensors(rgb360)]
    mean = np.concatenate([m for m, _ in pairs])
    std = np.concatenate([s for _, s in pairs])
    return np.median(mean, axis=0, keepdims=True), np.median(std, axis=0, keepdims=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="model folder (model.onnx, seed.dat)")
    data.add_training_photo_args(ap, HERE)
    ap.add_argument("--edits", default="crop_10%,crop_5%,border_10%,rotate_5")
    ap.add_argument(
        "--ladders",
        default="1;1,0.8;1,0.8,0.64;1,0.9,0.8;1,0.9,0.8,0.72,0.64",
        help="ladders separated by ';'; 'SCALES|GRAY' adds luma views at the GRAY scales",
    )
    ap.add_argument(
        "--standardize",
        default="plain",
        help=f"input standardizations to try per ladder, comma-separated ({', '.join(MODES)})",
    )
    ap.add_argument("--threshold", type=int, default=19, help="T to report matches and FPs at")
    ap.add_argument("--out", required=True, help="results JSON")
    a = ap.parse_args()

    paths = data.training_photo_paths(a, data.load_split(a.split))
    hasher = hasher_for(a.model)
    model = onnx.load(os.path.join(a.model, "model.onnx"))
    edits = [e for e in a.edits.split(",") if e]
    pixels: dict[str, list[np.ndarray]] = {k: [] for k in ["orig", *edits]}
    runtime_bits = []
    for path in paths:
        rgb = np.asarray(decode_image(path).rgb, dtype=np.uint8)
        runtime_bits.append(hasher.hash_rgb(rgb).bits)
        for k, v in photo_views(hasher, rgb, path, edits).items():
            pixels[k].append(v)
    stacked = {k: np.stack(v) for k, v in pixels.items()}
    runtime_bits = np.array(runtime_bits)
    print(f"{len(paths)} photos prepared", flush=True)

    iu = np.triu_indices(len(paths), 1)
    near_dup = near_duplicates(paths)[iu]  # frames, slices: not look-alikes, counted apart
    modes = [m for m in a.standardize.split(",") if m]
    unknown = sorted(set(modes) - set(MODES))
    if unknown:
        raise SystemExit(f"unknown --standardize {unknown}; known: {', '.join(MODES)}")
    targets = {m: typical_target(stacked["orig"], m) for m in modes if m != "plain"}
    results = []
    runs = [(t, m) for t in a.ladders.split(";") if t.strip() for m in modes]
    for text, mode in runs:
        colour, _, gray_text = text.partition("|")
        ladder, gray = parse_scales(colour), parse_scales(gray_text)
        wrapped = wrap(model, ladder, gray)
        sess = ort.InferenceSession(wrapped.SerializeToString(), providers=["CPUExecutionProvider"])
        target = targets.get(mode)
        bits = {
            k: bits_from_projections(project(hasher.seed, embed(sess, v, mode, target)))
            for k, v in stacked.items()
        }
        dist = cross_distances(bits["orig"], bits["orig"])[iu]
        row: dict = {"ladder": ladder, **distinct_tail(dist, near_dup, a.threshold)}
        if gray:
            row["gray_ladder"] = gray
        if mode != "plain":
            assert target is not None
            row["standardize"] = mode
            row["target_mean"] = [round(float(v), 4) for v in target[0].ravel()]
            row["target_std"] = [round(float(v), 4) for v in target[1].ravel()]
        row.update(edit_distances(bits, edits, a.threshold))
        if ladder == [1.0] and not gray and mode == "plain":
            row["hashes_identical_to_runtime"] = int(
                np.sum(np.all(bits["orig"] == runtime_bits, 1))
            )
        results.append(row)
        print(json.dumps(row), flush=True)
    write_probe(a.out, __doc__.split("\n\n")[0], a, len(paths), int(len(iu[0])), results=results)


if __name__ == "__main__":
    main()
