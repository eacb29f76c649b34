"""Fixed train / evaluation split for the default model v2 (issue 12 §1), by source package.

    python training/split_v2.py --photos ../shared/photos --extra ../shared/photos_extra
    # writes training/split_v2.json and training/split_v2_eval_sources.tsv;
    # --link DIR also makes the evaluation folder of symlinks

Why by package: photos of one Debian package are often shots of one subject, one scene type, one
photographer (~66 postcard shots in cimg-doc, ~40 underwater ones in krank). Splitting photo by
photo would put near-siblings on both sides and flatter the evaluation; a package goes wholly to
one side.

Rules (fixed before any v2 training or evaluation):
1. Training always gets all of `photos/` (v1's training and held-out photos alike; v1's 28-photo
   table stays as history).
2. The packages of `photos_extra/` are ordered by sha256("nhkit-split-v2:" + package) and given
   to the evaluation side in that order until it holds >= 320 photos; the rest train.
3. Leak scan (the same bounds as benchmarks/calib_set.py): an evaluation photo within pHash <= 10
   (of 64) or PDQ <= 70 (of 256) of any training photo is moved out of the evaluation (it is
   neither trained on nor evaluated); inside the evaluation side, near-duplicate groups keep
   their first file (MANIFEST order).
The evaluation side is never trained on, calibrated on or used for checkpoint selection during
training; benchmarks/quality.py reports on it. No gcompris photos are read (reserved).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "benchmarks"))

from calib_set import (  # noqa: E402
    PDQ_MAX,
    PHASH_MAX,
    drop_later_near_duplicates,
    fingerprints,
    leak_scan,
    read_rows,
    write_set,
)

from nhkit.runtime.atomic import write_text_atomic  # noqa: E402

EVAL_MIN = 320
SOURCE_COLUMNS = (
    "file",
    "source",
    "package",
    "version",
    "original_path",
    "licence",
    "sha256",
)


def sources_tsv(eval_files: list[dict[str, str]], extra_rows: list[dict[str, str]]) -> str:
    """The evaluation photos' provenance (source, package, version, path in it, licence), so
    that someone without our photo folder can see where every evaluation photo comes from and
    rebuild it from Debian or PyPI. Built (and checked) before anything is written, so a bad
    MANIFEST.tsv leaves both output files as they were."""
    by_file = {r["file"]: r for r in extra_rows}
    lines = ["\t".join(SOURCE_COLUMNS)]
    for e in eval_files:
        rel = e["file"].removeprefix("photos_extra/")
        r = by_file.get(rel)
        if r is None:
            sys.exit(f"{e['file']}: not in photos_extra/MANIFEST.tsv")
        if r["out_sha256"] != e["sha256"]:
            sys.exit(f"{e['file']}: MANIFEST.tsv sha256 {r['out_sha256']} != file {e['sha256']}")
        row = (
            e["file"],
            r["source"],  # deb (a Debian package) or pypi (a wheel)
            r["source_package"],
            r["version"],
            r["original_path"],  # inside the .deb or the wheel
            r["licence"],
            e["sha256"],
        )
        if any(not v or "\t" in v or "\n" in v for v in row):
            sys.exit(f"{e['file']}: empty or multi-line provenance field in MANIFEST.tsv")
        lines.append("\t".join(row))
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--photos", default=os.path.join(HERE, "..", "..", "shared", "photos"))
    ap.add_argument("--extra", default=os.path.join(HERE, "..", "..", "shared", "photos_extra"))
    ap.add_argument("--out", default=os.path.join(HERE, "split_v2.json"))
    ap.add_argument("--sources", default=os.path.join(HERE, "split_v2_eval_sources.tsv"))
    ap.add_argument("--link", help="make this folder of symlinks to the evaluation photos")
    a = ap.parse_args()
    t0 = time.time()

    base_rows = read_rows(a.photos)
    extra_rows = read_rows(a.extra)
    if any("gcompris" in r["file"] or "gcompris" in r["source_package"] for r in extra_rows):
        sys.exit("photos_extra holds gcompris photos: they are reserved, refuse to use them")
    packages: dict[str, list[str]] = {}
    for r in extra_rows:
        packages.setdefault(r["source_package"], []).append(r["file"])
    order = sorted(
        packages, key=lambda p: hashlib.sha256(f"nhkit-split-v2:{p}".encode()).hexdigest()
    )
    eval_pk: list[str] = []
    n_eval = 0
    for p in order:
        if n_eval >= EVAL_MIN:
            break
        eval_pk.append(p)
        n_eval += len(packages[p])
    train_pk = sorted(set(packages) - set(eval_pk))

    train = [("photos", r["file"]) for r in base_rows] + [
        ("photos_extra", f) for p in train_pk for f in packages[p]
    ]
    cand = [r["file"] for r in extra_rows if r["source_package"] in set(eval_pk)]
    folders = {"photos": a.photos, "photos_extra": a.extra}

    tph, tpdq = [], []
    for name in ("photos", "photos_extra"):
        files = [f for n, f in train if n == name]
        ph, pdq, _ = fingerprints(folders[name], files)
        tph.append(ph)
        tpdq.append(pdq)
    import numpy as np

    tph_a, tpdq_a = np.concatenate(tph), np.concatenate(tpdq)
    train_names = [f"{n}/{f}" for n in ("photos", "photos_extra") for m, f in train if m == n]
    eph, epdq, esha = fingerprints(a.extra, cand)

    dropped, excluded, dph, dpdq = leak_scan(
        cand, eph, epdq, train_names, tph_a, tpdq_a, "near-duplicate of a training photo"
    )
    excluded += drop_later_near_duplicates(
        cand, eph, epdq, dropped, "near-duplicate inside the evaluation side"
    )
    kept = [i for i in range(len(cand)) if i not in dropped]
    kept_train_min = {
        "phash": int(dph[kept].min()),
        "pdq": int(dpdq[kept].min()),
    }
    res = {
        "version": 2,
        "rule": "by package: sha256('nhkit-split-v2:' + package) order, evaluation >= "
        f"{EVAL_MIN} photos; leak scan pHash <= {PHASH_MAX} / PDQ <= {PDQ_MAX}",
        "folders": {"photos": "photos", "photos_extra": "photos_extra"},
        "eval_packages": sorted(eval_pk),
        "train_packages": train_pk,
        "train": train_names,
        "train_groups": {
            f"{n}/{f}": (n + ":" + f.split("/")[0]) for n, f in train
        },  # a group = one source package: hard negatives are drawn inside it
        "eval": [{"file": f"photos_extra/{cand[i]}", "sha256": esha[i]} for i in kept],
        "eval_count": len(kept),
        "eval_distinct_pairs": len(kept) * (len(kept) - 1) // 2,
        "excluded": excluded,
        "eval_to_train_closest": kept_train_min,
        "seconds": round(time.time() - t0, 1),
    }
    sources = sources_tsv(res["eval"], extra_rows)
    write_set(res, a.out, a.extra, [cand[i] for i in kept], a.link)
    write_text_atomic(a.sources, sources)
    print(
        f"train {len(train)} photos ({len(train_pk)} extra packages + photos/), eval "
        f"{len(kept)} kept of {len(cand)} ({res['eval_distinct_pairs']} pairs, "
        f"{len(eval_pk)} packages), {len(excluded)} excluded; closest eval-to-train: "
        f"pHash {kept_train_min['phash']}, PDQ {kept_train_min['pdq']} ({res['seconds']} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
