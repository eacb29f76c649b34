"""Split v3: split_v2's training side plus the photos of `photos_extra2/` (the data lever of
issue 12: look-alike photos of many more subjects), evaluation side unchanged.

    python training/fresh_eval/build_fresh_eval.py --list training/extra2/extra2_list.tsv \
        --out ../photos_extra2                                  # from Debian packages
    python training/split_v3.py --extra2 ../photos_extra2 --photos ../shared/photos \
        --extra ../shared/photos_extra --fresh ../fresh_eval
    # writes training/split_v3.json; train.py --split training/split_v3.json \
    #     --folder photos_extra2=../photos_extra2 trains on it

Why a new split and not new rows in split_v2: split_v2.json is what every evaluation so far
names, and its evaluation side must stay byte-for-byte the same set (321 photos). Rules:
1. every photo's sha256 is the one `photos_extra2/MANIFEST.tsv` records (a rebuilt folder is the
   same set); no gcompris photo; no package already used by `photos/`, `photos_extra/` or the
   fresh set;
2. leak scan with the bounds of benchmarks/calib_set.py: a photo within pHash <= 10 (of 64) or
   PDQ <= 70 (of 256) of any photo of split_v2's evaluation side or the fresh set is left out
   (a near-duplicate of a training photo is harmless and stays);
3. inside the new folder, near-duplicate groups keep their first file (MANIFEST order);
4. each new photo's group (the same-package "cousin" negatives of train.py) is its package.
"""

from __future__ import annotations

import argparse
import json
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
    read_pinned_folder,
    read_rows,
    refuse_shared_packages,
    write_set,
)

FOLDER = "photos_extra2"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--extra2", required=True, help="the photos_extra2 folder (with MANIFEST.tsv)")
    ap.add_argument("--photos", default=os.path.join(HERE, "..", "..", "shared", "photos"))
    ap.add_argument("--extra", default=os.path.join(HERE, "..", "..", "shared", "photos_extra"))
    ap.add_argument("--fresh", default=os.path.join(HERE, "..", "..", "fresh_eval"))
    ap.add_argument("--base", default=os.path.join(HERE, "split_v2.json"))
    ap.add_argument("--out", default=os.path.join(HERE, "split_v3.json"))
    a = ap.parse_args()
    t0 = time.time()
    import numpy as np

    base = json.load(open(a.base, encoding="utf-8"))
    rows, xph, xpdq, _ = read_pinned_folder(
        a.extra2,
        "training/fresh_eval/build_fresh_eval.py --list training/extra2/extra2_list.tsv",
    )
    files = [r["file"] for r in rows]
    refuse_shared_packages(a.extra2, rows, {f: read_rows(f) for f in (a.photos, a.extra, a.fresh)})

    # every evaluation photo: split_v2's evaluation side and the whole fresh set
    folders = {"photos": a.photos, "photos_extra": a.extra}
    ev_names = [e["file"] for e in base["eval"]]
    ev_ph, ev_pdq = [], []
    for prefix, folder in folders.items():
        rel = [n.split("/", 1)[1] for n in ev_names if n.split("/", 1)[0] == prefix]
        if not rel:
            continue
        ph, pdq, _ = fingerprints(folder, rel)
        ev_ph.append(ph)
        ev_pdq.append(pdq)
    ordered = [n for p in folders for n in ev_names if n.split("/", 1)[0] == p]
    fresh_rows = read_rows(a.fresh)
    fph, fpdq, _ = fingerprints(a.fresh, [r["file"] for r in fresh_rows])
    known = ordered + [f"fresh_eval/{r['file']}" for r in fresh_rows]
    dropped, excluded, dph, dpdq = leak_scan(
        files,
        xph,
        xpdq,
        known,
        np.concatenate(ev_ph + [fph]),
        np.concatenate(ev_pdq + [fpdq]),
        "near-duplicate of an evaluation photo (split_v2 eval side or the fresh set)",
    )
    excluded += drop_later_near_duplicates(
        files, xph, xpdq, dropped, "near-duplicate inside photos_extra2"
    )
    kept = [i for i in range(len(files)) if i not in dropped]
    new = [f"{FOLDER}/{files[i]}" for i in kept]
    groups = dict(base["train_groups"])
    groups.update({f"{FOLDER}/{files[i]}": rows[i]["source_package"] for i in kept})
    packages = sorted({rows[i]["source_package"] for i in kept})
    res = {
        **base,
        "version": 2,
        "rule": base["rule"] + f"; v3: plus {FOLDER}/ (packages of no other set, no gcompris) "
        f"after a leak scan pHash <= {PHASH_MAX} / PDQ <= {PDQ_MAX} against split_v2's evaluation "
        "side and the fresh set; near-duplicates inside keep the first",
        "folders": {**base["folders"], FOLDER: FOLDER},
        "train_packages": sorted(set(base["train_packages"]) | set(packages)),
        "train": base["train"] + new,
        "train_groups": groups,
        "excluded": base["excluded"] + excluded,
        "extra2_count": len(kept),
        "extra2_to_eval_closest": {"phash": int(dph[kept].min()), "pdq": int(dpdq[kept].min())},
        "seconds": round(time.time() - t0, 1),
    }
    write_set(res, a.out, a.extra2, [files[i] for i in kept], None)
    print(
        f"split v3: training {len(res['train'])} photos ({len(base['train'])} of split_v2 + "
        f"{len(kept)} of {len(files)} in {FOLDER}, {len(packages)} packages), evaluation "
        f"{len(res['eval'])} unchanged; {len(excluded)} excluded; closest to an evaluation photo: "
        f"pHash {res['extra2_to_eval_closest']['phash']}, PDQ "
        f"{res['extra2_to_eval_closest']['pdq']} ({res['seconds']} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
