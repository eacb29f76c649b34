"""Refine a model's seed for margin, the network unchanged: the 96 projections are rotated so
the training photos' projections (originals and edited copies) sit further from 0.

Why the seed: every phase so far changed the network and left the seed, a random orthonormal
matrix (train.make_seed_matrix), where it was. A bit flips under an edit or under int8 when its
projection crosses 0, so larger |projections| at the same embedding drift mean fewer flips.
The rotation is iterative quantization (ITQ, Gong & Lazebnik 2011): alternate the bits of the
current projections and the orthonormal projection that best agrees with them (a Procrustes
step, one SVD); each step can only raise the sum of |projections|. Two constraints keep the
hash a hash: the rows stay orthonormal (the embedding's geometry is kept, so distances stay
comparable), and they are kept orthogonal to the mean embedding, so the projections are exactly
those of centred embeddings and no bit can become a constant (nh-spec-v1 has no bias term).

The probe is honest about fitting: the report fits on the even photos and measures on the odd
ones (and the other way round), old seed against new; the seed it writes is fitted on all of
them. Only training photos are read, never an evaluation photo.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "benchmarks"))

import data  # noqa: E402
from calib_set import cross_distances  # noqa: E402
from mine_negatives import near_duplicates  # noqa: E402
from multiview_probe import embed, prepared  # noqa: E402
from photo_hashes import distinct_tail, hasher_for, write_probe  # noqa: E402

from nhkit.runtime.atomic import write_bytes_atomic, write_text_atomic  # noqa: E402
from nhkit.runtime.digest import sha256_file  # noqa: E402
from nhkit.runtime.hashing import bits_from_projections, project  # noqa: E402
from nhkit.runtime.seed import seed_to_dat_bytes, seed_to_f32_bytes  # noqa: E402

FRAGILE = 0.1  # the runtime's fragile margin (model.json fragile_margin)


def complement_basis(mean: np.ndarray) -> np.ndarray:
    """127 x 128 orthonormal rows spanning the directions orthogonal to `mean`."""
    _, _, vt = np.linalg.svd(mean[None, :].astype(np.float64))
    return vt[1:]


def itq(embeddings: np.ndarray, seed: np.ndarray, iterations: int) -> np.ndarray:
    """A 96 x 128 seed with orthonormal rows orthogonal to the embeddings' mean, started from
    `seed` and rotated by ITQ's alternation to raise the sum of |projections|."""
    basis = complement_basis(embeddings.mean(axis=0))
    z = embeddings.astype(np.float64) @ basis.T  # centred: basis is orthogonal to the mean
    u, _, wt = np.linalg.svd(basis @ seed.T.astype(np.float64), full_matrices=False)
    r = u @ wt  # the start, moved into the complement and made orthonormal
    for _ in range(iterations):
        b = np.where(z @ r >= 0, 1.0, -1.0)
        u, _, wt = np.linalg.svd(z.T @ b, full_matrices=False)
        r = u @ wt
    return (basis.T @ r).T.astype(np.float32)


def measure(
    seed: np.ndarray, emb: dict[str, np.ndarray], rows: np.ndarray, near_dup: np.ndarray, t: int
) -> dict:
    """What the seed gives on the photos `rows`: the distinct tail, each edit's distance and
    match rate at T, and the originals' margins."""
    proj = {k: project(seed, v[rows]) for k, v in emb.items()}
    bits = {k: bits_from_projections(p) for k, p in proj.items()}
    iu = np.triu_indices(len(rows), 1)
    dist = cross_distances(bits["orig"], bits["orig"])[iu]
    out: dict = distinct_tail(dist, near_dup[np.ix_(rows, rows)][iu], t)
    absp = np.abs(proj["orig"])
    out["median_abs_projection"] = round(float(np.median(absp)), 4)
    out["fragile_fraction"] = round(float(np.mean(absp < FRAGILE)), 4)
    out["bit_balance_min_max"] = [
        round(float(bits["orig"].mean(0).min()), 3),
        round(float(bits["orig"].mean(0).max()), 3),
    ]
    for k in emb:
        if k != "orig":
            d = np.sum(bits["orig"] != bits[k], axis=1)
            out[k] = {
                "mean": round(float(d.mean()), 3),
                "max": int(d.max()),
                f"matched_at_{t}": round(float(np.mean(d <= t)), 4),
            }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="model folder (model.onnx, model.json, seeds)")
    data.add_training_photo_args(ap, HERE)
    ap.add_argument(
        "--edits",
        default="crop_10%,rotate_5,border_10%,bright_1.2,contrast_0.8,saturation_0.5,"
        "hue_+18deg,grayscale,jpeg_q50,blur",
        help="edited copies whose projections the rotation also pushes from 0",
    )
    ap.add_argument("--iterations", type=int, default=50)
    ap.add_argument("--threshold", type=int, default=17, help="T to report matches and FPs at")
    ap.add_argument("--report", required=True, help="probe results JSON")
    ap.add_argument("--out", help="write a model folder with the refined seed here")
    ap.add_argument("--name", help="its model.json name")
    ap.add_argument("--version", help="its model.json version")
    a = ap.parse_args()
    if a.out and not (a.name and a.version):
        raise SystemExit("--out needs --name and --version")

    paths = data.training_photo_paths(a, data.load_split(a.split))
    hasher = hasher_for(a.model)
    edits = [e for e in a.edits.split(",") if e]
    stacked = prepared(hasher, paths, edits)
    sess = ort.InferenceSession(
        os.path.join(a.model, "model.onnx"), providers=["CPUExecutionProvider"]
    )
    emb = {k: embed(sess, v) for k, v in stacked.items()}
    print(f"{len(paths)} photos x {len(emb)} views embedded", flush=True)
    near_dup = near_duplicates(paths)
    old = np.asarray(hasher.seed, dtype=np.float32)

    halves = []
    idx = np.arange(len(paths))
    for fit, held in ((idx[0::2], idx[1::2]), (idx[1::2], idx[0::2])):
        new = itq(np.concatenate([v[fit] for v in emb.values()]), old, a.iterations)
        halves.append(
            {
                "fit_photos": len(fit),
                "held_out_photos": len(held),
                "old_seed": measure(old, emb, held, near_dup, a.threshold),
                "refined_seed": measure(new, emb, held, near_dup, a.threshold),
            }
        )
        print(json.dumps(halves[-1]), flush=True)

    refined = itq(np.concatenate(list(emb.values())), old, a.iterations)
    every = np.arange(len(paths))
    fitted_all = {
        "old_seed": measure(old, emb, every, near_dup, a.threshold),
        "refined_seed": measure(refined, emb, every, near_dup, a.threshold),
        "row_norm_max_error": float(np.abs(np.linalg.norm(refined, axis=1) - 1).max()),
    }
    print(json.dumps(fitted_all), flush=True)
    write_probe(
        a.report,
        __doc__.split("\n\n")[0],
        a,
        len(paths),
        len(paths) * (len(paths) - 1) // 2,
        edits=edits,
        iterations=a.iterations,
        held_out_halves=halves,
        fitted_on_all_measured_on_all=fitted_all,
    )
    if a.out:
        write_folder(a.model, a.out, refined, a.name, a.version, a.report)


def write_folder(
    src: str, out: str, seed: np.ndarray, name: str, version: str, report: str
) -> None:
    """The model folder with the refined seed: the same model.onnx, new seed files, model.json
    naming both the source folder and the probe."""
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(src, "model.onnx"), "rb") as f:
        write_bytes_atomic(os.path.join(out, "model.onnx"), f.read())
    write_bytes_atomic(os.path.join(out, "seed.f32"), seed_to_f32_bytes(seed))
    write_bytes_atomic(os.path.join(out, "seed.dat"), seed_to_dat_bytes(seed))
    with open(os.path.join(src, "model.json")) as f:
        info = json.load(f)
    info.update(
        name=name,
        version=version,
        seed_sha256=sha256_file(os.path.join(out, "seed.f32")),
        seed_refined={
            "from": src,
            "method": "ITQ, mean-orthogonal (refine_seed.py)",
            "report": report,
        },
    )
    write_text_atomic(os.path.join(out, "model.json"), json.dumps(info, indent=1) + "\n")


if __name__ == "__main__":
    main()
