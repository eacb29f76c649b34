"""A second evaluation set for choosing between model candidates (issue 12): photos of packages
no nhkit model has trained on, been calibrated on or been chosen on.

    python training/fresh_eval/build_fresh_eval.py --out ../fresh_eval   # from Debian and PyPI
    python training/split_fresh.py --fresh ../fresh_eval --photos ../shared/photos \
        --extra ../shared/photos_extra
    # writes training/split_fresh.json (benchmarks/quality.py --split ... --folder
    # fresh_eval=../fresh_eval reports on it)

Why: split_v2's evaluation side has chosen between models twice (v1 -> v2, v2 vs v3c); a third
choice on it would start fitting the model to those 321 photos. This set (252 photos of 50
packages in `fresh_eval/MANIFEST.tsv`, chosen by eye as real photographs, none of a package of
`photos/` or `photos_extra/`, no gcompris) is checked here with split_v2's rules before use:
1. every photo's sha256 is the one its MANIFEST row records (a rebuilt folder is the same set);
2. leak scan with the bounds of benchmarks/calib_set.py: a photo within pHash <= 10 (of 64) or
   PDQ <= 70 (of 256) of any photo of `photos/` or `photos_extra/` (training and split_v2
   evaluation alike) is left out;
3. inside the set, near-duplicate groups keep their first file (MANIFEST order).
"""

from __future__ import annotations

import argparse
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fresh", required=True, help="the fresh_eval folder (with MANIFEST.tsv)")
    ap.add_argument("--photos", default=os.path.join(HERE, "..", "..", "shared", "photos"))
    ap.add_argument("--extra", default=os.path.join(HERE, "..", "..", "shared", "photos_extra"))
    ap.add_argument("--out", default=os.path.join(HERE, "split_fresh.json"))
    a = ap.parse_args()
    t0 = time.time()
    import numpy as np

    rows, fph, fpdq, fsha = read_pinned_folder(a.fresh, "training/fresh_eval/build_fresh_eval.py")
    files = [r["file"] for r in rows]
    known_rows = {}
    known_ph, known_pdq, known_names = [], [], []
    for name, folder in (("photos", a.photos), ("photos_extra", a.extra)):
        known = read_rows(folder)
        known_rows[folder] = known
        ph, pdq, _ = fingerprints(folder, [r["file"] for r in known])
        known_ph.append(ph)
        known_pdq.append(pdq)
        known_names += [f"{name}/{r['file']}" for r in known]
    refuse_shared_packages(a.fresh, rows, known_rows)
    dropped, excluded, dph, dpdq = leak_scan(
        files,
        fph,
        fpdq,
        known_names,
        np.concatenate(known_ph),
        np.concatenate(known_pdq),
        "near-duplicate of a photo of photos/ or photos_extra/",
    )
    excluded += drop_later_near_duplicates(
        files, fph, fpdq, dropped, "near-duplicate inside the set"
    )
    kept = [i for i in range(len(files)) if i not in dropped]
    packages = sorted({rows[i]["source_package"] for i in kept})
    res = {
        "version": 2,
        "rule": "fresh packages (none of photos/ or photos_extra/, no gcompris), chosen by eye as "
        f"real photographs; leak scan pHash <= {PHASH_MAX} / PDQ <= {PDQ_MAX} against every "
        "photo of photos/ and photos_extra/; near-duplicates inside keep the first",
        "folders": {"fresh_eval": "fresh_eval"},
        "eval_packages": packages,
        "train": [],
        "eval": [{"file": f"fresh_eval/{files[i]}", "sha256": fsha[i]} for i in kept],
        "eval_count": len(kept),
        "eval_distinct_pairs": len(kept) * (len(kept) - 1) // 2,
        "excluded": excluded,
        "eval_to_known_closest": {"phash": int(dph[kept].min()), "pdq": int(dpdq[kept].min())},
        "seconds": round(time.time() - t0, 1),
    }
    write_set(res, a.out, a.fresh, [files[i] for i in kept], None)
    print(
        f"fresh evaluation: {len(kept)} of {len(files)} photos ({res['eval_distinct_pairs']} "
        f"pairs, {len(packages)} packages), {len(excluded)} excluded; closest to photos/ and "
        f"photos_extra/: pHash {res['eval_to_known_closest']['phash']}, PDQ "
        f"{res['eval_to_known_closest']['pdq']} ({res['seconds']} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
