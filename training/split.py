"""Fixed train / held-out split of the shared photo folder (writes training/split.json).

Deterministic: photos are grouped so that "similar, not the same" shots stay together (opencv
ela_*, rubberwhale*, basketball*, aloeL/R, graf*, aero*, box*, scikit-image motorcycle_*,
kphotoalbum `x` / `x_2` / `x_N` shots), groups are ordered by sha256("nhkit-split-v1:" + group)
and taken in that order until the held-out set has >= 28 photos. The held-out photos are never
trained on; benchmarks/quality.py evaluates on them only.

    python training/split.py --photos ../shared/photos     # rewrites training/split.json
"""

import argparse
import hashlib
import json
import os
import re

EXPLICIT = {
    "opencv-doc/ela": "opencv-doc/ela_",
    "opencv-doc/rubberwhale": "opencv-doc/rubberwhale",
    "opencv-doc/basketball": "opencv-doc/basketball",
    "opencv-doc/aloe": "opencv-doc/aloe",
    "opencv-doc/graf": "opencv-doc/graf",
    "opencv-doc/aero": "opencv-doc/aero",
    "opencv-doc/box": "opencv-doc/box",
    "scikit-image/motorcycle": "scikit-image/motorcycle_",
}
HELD_OUT_MIN = 28
HELD_OUT_MAX = 30


def group_of(rel):
    for g, prefix in EXPLICIT.items():
        if rel.startswith(prefix):
            return g
    if rel.startswith("kphotoalbum/"):
        return re.sub(r"_\d+$", "", rel[:-4])
    return rel[:-4]


def make_split(files):
    groups = {}
    for f in sorted(files):
        groups.setdefault(group_of(f), []).append(f)
    order = sorted(
        groups, key=lambda g: hashlib.sha256(("nhkit-split-v1:" + g).encode()).hexdigest()
    )
    held = []
    for g in order:
        if len(held) >= HELD_OUT_MIN:
            break
        if len(held) + len(groups[g]) <= HELD_OUT_MAX:
            held += groups[g]
    held = sorted(held)
    train = sorted(f for f in files if f not in held)
    similar = sorted([sorted(v) for v in groups.values() if len(v) > 1])
    return {
        "version": 1,
        "rule": __doc__.strip().splitlines()[0],
        "held_out": held,
        "train": train,
        "similar_groups": similar,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--photos", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "photos")
    )
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "split.json"))
    a = ap.parse_args()
    files = sorted(
        os.path.relpath(os.path.join(d, f), a.photos)
        for d, _, fs in os.walk(a.photos)
        for f in fs
        if f.lower().endswith((".jpg", ".jpeg", ".png"))
    )
    s = make_split(files)
    with open(a.out, "w") as f:
        json.dump(s, f, indent=1)
        f.write("\n")
    print(f"{len(s['train'])} train, {len(s['held_out'])} held out -> {a.out}")


if __name__ == "__main__":
    main()
