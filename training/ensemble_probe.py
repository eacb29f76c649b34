"""Does averaging the embeddings of several trained networks (an ensemble, phase 20) thin the
distinct tail the way averaging views did (phase 16)? A probe on a split's *training* photos,
before any evaluation: no evaluation photo is read.

Why it might: phase 16 found that averaging one network's embeddings over centre zooms removed
view-specific noise from crops *and* from the closest distinct pairs. Fifteen phases of recipe
levers traded one look-alike pair for another, so the networks of the lineage disagree on
*which* pairs they bring close; what one network's quirks put together, another's may not.
Every candidate shares the lineage's seed and head geometry (phase 13-19's keep term holds each
near its parent), so their embeddings can be averaged before the one projection.

Each member's embedding of every view of every photo and edit is computed once (a one-view
wrap per scale, `multiview.wrap`), then every combination is the mean over its members and the
ladder's views, in numpy. Two checks tie the numpy means to what would ship: the first
member alone must give the shipped wrap's hashes (counted, bit for bit), and the largest
combination is run as one ensemble ONNX (`multiview.wrap(..., members=...)`) and its
embeddings compared (largest difference reported).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from itertools import combinations

import numpy as np
import onnx
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "benchmarks"))

import data  # noqa: E402
from calib_set import cross_distances  # noqa: E402
from mine_negatives import near_duplicates  # noqa: E402
from multiview import parse_scales, wrap  # noqa: E402
from multiview_probe import edit_distances, embed, prepared  # noqa: E402
from photo_hashes import distinct_tail, hasher_for, write_probe  # noqa: E402

from nhkit.runtime.hashing import bits_from_projections, project  # noqa: E402


def parse_members(items: list[str]) -> dict[str, str]:
    """['v14m=path', ...] -> {'v14m': 'path'}, in order; every folder must hold a model."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, folder = item.partition("=")
        if not sep or not name or name in out:
            raise SystemExit(f"--member {item!r}: expected a new NAME=FOLDER")
        if not os.path.isfile(os.path.join(folder, "model.onnx")):
            raise SystemExit(f"--member {item!r}: {folder} has no model.onnx")
        out[name] = folder
    return out


def parse_combos(text: str, names: list[str]) -> list[tuple[str, ...]]:
    """'a;a+b' -> [('a',), ('a', 'b')]; empty: each member alone, the first with each other
    one, every pair of the others, and all of them."""
    if not text:
        first, rest = names[0], names[1:]
        combos = [(n,) for n in names] + [(first, n) for n in rest]
        combos += [p for p in combinations(rest, 2)] + [tuple(names)]
        return list(dict.fromkeys(combos))
    combos = [tuple(c.split("+")) for c in text.split(";") if c.strip()]
    unknown = sorted({n for c in combos for n in c} - set(names))
    if unknown:
        raise SystemExit(f"--combos names {unknown}, not a --member")
    return combos


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--member", action="append", required=True, help="NAME=FOLDER, repeated")
    ap.add_argument("--shipped", help="the shipped wrap of the first member (checked bit for bit)")
    data.add_training_photo_args(ap, HERE)
    ap.add_argument("--scales", default="1,0.8,0.64,0.512", help="the ladder every member runs")
    ap.add_argument("--edits", default="crop_10%,border_10%,rotate_5,bright_1.2,grayscale")
    ap.add_argument("--combos", default="", help="e.g. 'a;a+b;a+b+c' (default: see parse_combos)")
    ap.add_argument("--threshold", type=int, default=19, help="T to report matches and FPs at")
    ap.add_argument("--out", required=True, help="results JSON")
    a = ap.parse_args()
    a.model = a.member[0]  # write_probe names the run by its first member

    members = parse_members(a.member)
    names = list(members)
    combos = parse_combos(a.combos, names)
    scales = parse_scales(a.scales)
    first = members[names[0]]
    hasher = hasher_for(first)
    seed = hasher.seed
    for folder in members.values():
        if not np.array_equal(hasher_for(folder).seed, seed):
            raise SystemExit(f"{folder}/seed.dat: not {first}'s seed; members must share it")

    t0 = time.time()
    paths = data.training_photo_paths(a, data.load_split(a.split))
    edits = [e for e in a.edits.split(",") if e]
    stacked = prepared(hasher, paths, edits)
    print(f"{len(paths)} photos prepared in {time.time() - t0:.0f} s", flush=True)

    # per member: variant -> (views, N, 128)
    emb: dict[str, dict[str, np.ndarray]] = {}
    for name, folder in members.items():
        model = onnx.load(os.path.join(folder, "model.onnx"))
        per_view = []
        for s in scales:
            sess = ort.InferenceSession(
                wrap(model, [s]).SerializeToString(), providers=["CPUExecutionProvider"]
            )
            per_view.append({k: embed(sess, v) for k, v in stacked.items()})
        emb[name] = {k: np.stack([pv[k] for pv in per_view]) for k in stacked}
        print(f"{name}: embedded ({time.time() - t0:.0f} s)", flush=True)

    def combined(combo: tuple[str, ...], variant: str) -> np.ndarray:
        return np.mean(np.concatenate([emb[n][variant] for n in combo]), axis=0)

    checks: dict[str, float | int] = {}
    if a.shipped:
        shipped = hasher_for(a.shipped)
        want = np.array([shipped.hash_rgb(x).bits for x in stacked["orig"]])
        got = bits_from_projections(project(seed, combined((names[0],), "orig")))
        checks["first_member_hashes_identical_to_shipped"] = int(np.sum(np.all(want == got, 1)))
    largest = max(combos, key=len)
    if len(largest) > 1:
        models = [onnx.load(os.path.join(members[n], "model.onnx")) for n in largest]
        sess = ort.InferenceSession(
            wrap(models[0], scales, members=models[1:]).SerializeToString(),
            providers=["CPUExecutionProvider"],
        )
        one = embed(sess, stacked["orig"][:64])
        ref = combined(largest, "orig")[:64]
        checks["ensemble_onnx_vs_numpy_max_abs"] = float(np.abs(one - ref).max())
        checks["ensemble_onnx_vs_numpy_of"] = "+".join(largest)
    print(checks, flush=True)

    iu = np.triu_indices(len(paths), 1)
    near_dup = near_duplicates(paths)[iu]
    results = []
    for combo in combos:
        bits = {k: bits_from_projections(project(seed, combined(combo, k))) for k in stacked.keys()}
        dist = cross_distances(bits["orig"], bits["orig"])[iu]
        row: dict = {"members": list(combo), **distinct_tail(dist, near_dup, a.threshold)}
        row.update(edit_distances(bits, edits, a.threshold))
        results.append(row)
        print(row, flush=True)
    write_probe(
        a.out,
        __doc__.split("\n\n")[0],
        a,
        len(paths),
        int(len(iu[0])),
        members=members,
        scales=scales,
        checks=checks,
        seconds=round(time.time() - t0),
        results=results,
    )


if __name__ == "__main__":
    main()
