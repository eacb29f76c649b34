"""`nhkit hashlist build|info|merge|diff|set-threshold`: make and inspect hash lists
(docs/hashlist-format.md)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from .cli_model_args import add_image_model_arguments
from .errors import NhkitError
from .spec import Spec

ID_FROM = ("relative", "name", "path")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "hashlist",
        help="build and inspect hash lists (the files `nhkit match` searches)",
        description="Build, inspect, merge and compare hash lists.",
    )
    hs = p.add_subparsers(dest="hashlist_command", metavar="ACTION")
    hs.required = True

    b = hs.add_parser(
        "build",
        help="build a list from images or hash files",
        description="Build a hash list folder LIST and LIST.zip from images "
        "(hashed here), `nhkit hash --format csv|json` outputs, or nhkit Parquet "
        "hash files. Bad inputs are reported and skipped (exit code 1); exact and "
        "near duplicates inside the list are reported.",
    )
    b.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="images, folders (with -r), .csv/.json/.jsonl/.parquet hash files",
    )
    b.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="LIST",
        help="list folder to write (LIST.zip is written next to it)",
    )
    b.add_argument("-r", "--recursive", action="store_true", help="read images inside folders")
    b.add_argument(
        "--label",
        default=None,
        help="label for every entry of this build (hash files may carry their own 'label' column)",
    )
    b.add_argument(
        "--id-from",
        choices=ID_FROM,
        default="relative",
        help="entry ids: path relative to the folder given (default; a file given "
        "directly: its name), the file name, or the path as given",
    )
    b.add_argument("--list-id", default=None, help="list id (default: LIST's folder name)")
    b.add_argument(
        "--near",
        type=int,
        default=8,
        metavar="T",
        help="report pairs of distinct hashes within T bits (default 8; -1: off)",
    )
    b.add_argument("--force", action="store_true", help="replace an existing list")
    b.add_argument("--no-zip", action="store_true", help="write the folder only")
    add_image_model_arguments(b)
    b.set_defaults(func=run_build)

    i = hs.add_parser("info", help="what a list holds (verified first)")
    i.add_argument("list", metavar="LIST", help="list folder or zip")
    i.add_argument("--json", action="store_true", help="print the manifest as JSON")
    i.set_defaults(func=run_info)

    m = hs.add_parser("merge", help="merge lists made with the same model and seed")
    m.add_argument("lists", nargs="+", metavar="LIST")
    m.add_argument("-o", "--output", required=True, metavar="OUT")
    m.add_argument("--list-id", default=None)
    m.add_argument(
        "--prefix-ids",
        action="store_true",
        help="prefix each id with its list id and ':' (when ids collide)",
    )
    m.add_argument("--force", action="store_true", help="replace an existing list")
    m.set_defaults(func=run_merge)

    d = hs.add_parser("diff", help="what a list update adds, removes and changes (by id)")
    d.add_argument("old", metavar="OLD")
    d.add_argument("new", metavar="NEW")
    d.add_argument("--json", action="store_true", help="one JSON object")
    d.set_defaults(func=run_diff)

    t = hs.add_parser(
        "set-threshold",
        help="record a calibrated threshold in a list",
        description="Write the threshold measured by `nhkit match calibrate` "
        "into LIST's manifest (folder and zip rewritten atomically).",
    )
    t.add_argument("list", metavar="LIST")
    t.add_argument(
        "report",
        metavar="REPORT",
        help="calibration report folder (or its report.json), or a threshold.json",
    )
    t.add_argument("-o", "--output", default=None, help="write a copy instead of LIST itself")
    t.set_defaults(func=run_set_threshold)


def hasher_identity(hasher: Any, model_path: str | None) -> dict[str, str]:
    """The manifest's `model` object for the model and seed a Hasher runs."""
    ident = hasher.identity
    name = ident.name or (Path(model_path).stem if model_path else "unnamed")
    return {"name": name, "fingerprint": ident.fingerprint, "seed_sha256": ident.seed_sha256}


def flags_given(args: argparse.Namespace) -> bool:
    return bool(args.model or args.seed or args.bundle)


# ----- build ------------------------------------------------------------------------------------


def _entry_id(rec: Any, how: str) -> str:
    if rec.id:
        return str(rec.id)
    if how == "path":
        return rec.name
    if how == "name":
        return os.path.basename(rec.name)
    return (rec.rel or rec.name).replace(os.sep, "/")


def run_build(args: argparse.Namespace) -> int:
    from .cli_hash import make_hasher
    from .hashinput import hash_images, parquet_identity, read_hash_file, split_inputs
    from .hashlist import Entry, seal, write_sealed
    from .progress import Progress

    images, hash_files, problems = split_inputs(args.inputs, recursive=args.recursive)
    failures = 0

    def fail(name: str, reason: str) -> None:
        nonlocal failures
        failures += 1
        print(f"nhkit hashlist build: {name}: {reason}", file=sys.stderr)

    for name, reason in problems:
        fail(name, reason)

    # Which model the list records: the flags' (or images'), else what Parquet files declare.
    declared: list[tuple[str, Any]] = []
    for hf in hash_files:
        if hf.lower().endswith(".parquet"):
            try:
                ident = parquet_identity(hf)
            except NhkitError as exc:
                fail(hf, getattr(exc, "reason", str(exc)))
                continue
            declared.append((hf, ident))
    hasher = None
    model: dict[str, str] | None = None
    spec: Spec | None = None
    if images or flags_given(args) or not declared:
        if args.orientation is None and not args.bundle:
            args.orientation = "apply"
        hasher = make_hasher(args)
        model = hasher_identity(hasher, args.model)
        spec = hasher.spec
        if not images and not declared:
            print(
                f"nhkit hashlist build: hash files carry no model identity; recording "
                f"{model['name']} ({model['fingerprint'][:12]}...). Pass --model/--seed or "
                "--bundle if they were made with another model.",
                file=sys.stderr,
            )
    bad_files: set[str] = set()
    for hf, ident in declared:
        if ident.model is None:
            continue
        if model is None:
            model = dict(ident.model)
            spec = Spec.from_json(ident.spec, source=hf) if ident.spec else Spec()
        elif (ident.model["fingerprint"], ident.model["seed_sha256"]) != (
            model["fingerprint"],
            model["seed_sha256"],
        ):
            fail(
                hf,
                f"made with model {ident.model['fingerprint']} / seed "
                f"{ident.model['seed_sha256']}, but the list uses model {model['fingerprint']} "
                f"/ seed {model['seed_sha256']}; hashes of different models do not compare",
            )
            bad_files.add(hf)
    assert model is not None and spec is not None

    records = []
    for hf in hash_files:
        if hf in bad_files:
            continue
        for rec in read_hash_file(hf):
            if rec.ok:
                records.append(rec)
            else:
                fail(rec.origin, rec.error or "no hash")
    if images:
        assert hasher is not None
        bar = Progress(len(images), "hashing", enabled=False if args.no_progress else None)
        try:
            for rec in hash_images(
                hasher, images, batch_size=args.batch, workers=args.workers, progress=bar.update
            ):
                if rec.ok:
                    records.append(rec)
                else:
                    fail(rec.origin, rec.error or "no hash")
        finally:
            bar.close()

    entries = [
        Entry(
            id=_entry_id(r, args.id_from),
            hash=str(r.hex),
            label=r.label or args.label,
            source=r.name,
            meta=None,
            fragile=r.fragile_at(spec.fragile_margin),
        )
        for r in records
    ]
    out = Path(args.output)
    if out.suffix == ".zip":
        out = out.with_suffix("")
    sealed = seal(
        entries, list_id=args.list_id or out.name, spec=spec, model=model, source=str(out)
    )
    write_sealed(sealed, out, zip_too=not args.no_zip, overwrite=args.force)
    rep = sealed.report
    print(
        f"nhkit hashlist build: wrote {out} ({rep.entries} entries, {rep.hashes} distinct "
        f"hashes{', fragile masks' if rep.fragile else ''})"
        + ("" if args.no_zip else f" and {out}.zip"),
        file=sys.stderr,
    )
    for note in rep.notes:
        print(f"nhkit hashlist build: note: {note}", file=sys.stderr)
    if rep.duplicate_groups:
        k = len(rep.duplicate_groups)
        print(
            f"nhkit hashlist build: {k} hash{'es are' if k != 1 else ' is'} shared by several "
            "entries (exact duplicates):",
            file=sys.stderr,
        )
        for g in rep.duplicate_groups[:10]:
            print(f"  {' = '.join(g[:6])}{' ...' if len(g) > 6 else ''}", file=sys.stderr)
    if args.near >= 1 and rep.hashes > 1:
        _report_near(sealed, args.near)
    if failures:
        print(f"nhkit hashlist build: {failures} inputs failed (skipped)", file=sys.stderr)
    return 1 if failures else 0


def _report_near(sealed: Any, near: int) -> None:
    """Pairs of distinct hashes within `near` bits: likely the same image edited."""
    import numpy as np

    from .match import search_codes

    near = min(near, 96)
    codes = np.frombuffer(sealed.files["hashes.bin"], np.uint8).reshape(-1, 12)
    (lims, ids, dist), _ = search_codes(codes, codes, near)
    q = np.repeat(np.arange(len(codes)), np.diff(lims))
    keep = ids > q
    pairs = list(zip(q[keep].tolist(), ids[keep].tolist(), dist[keep].tolist()))
    if not pairs:
        return
    offsets = np.frombuffer(sealed.files["offsets.bin"], "<u4")
    lines = sealed.files["entries.jsonl"].split(b"\n")

    def first_id(k: int) -> str:
        return str(json.loads(lines[int(offsets[k])])["id"])

    pairs.sort(key=lambda p: (p[2], p[0], p[1]))
    print(
        f"nhkit hashlist build: {len(pairs)} pairs of distinct hashes within {near} bits "
        "(near duplicates):",
        file=sys.stderr,
    )
    for a, b, d in pairs[:10]:
        print(f"  {first_id(a)} ~ {first_id(b)}: {d} bits", file=sys.stderr)
    if len(pairs) > 10:
        print(f"  ... and {len(pairs) - 10} more", file=sys.stderr)


# ----- info / merge / diff / set-threshold --------------------------------------------------------


def run_info(args: argparse.Namespace) -> int:
    from .hashlist import load

    hl = load(args.list)
    if args.json:
        print(json.dumps(hl.manifest, indent=2, ensure_ascii=False))
        return 0
    m, th = hl.manifest, hl.threshold
    print(f"list:        {hl.list_id}  ({hl.path})")
    print(
        f"entries:     {len(hl.ids)}  ({len(hl.hashes)} distinct hashes, "
        f"{len(hl.ids) - len(hl.hashes)} entries share a hash)"
    )
    print(f"model:       {hl.model['name']}  fingerprint {hl.model['fingerprint']}")
    print(f"seed sha256: {hl.model['seed_sha256']}")
    print(
        f"spec:        {hl.spec.id}, orientation {hl.spec.orientation}, fragile margin "
        f"{hl.spec.fragile_margin}"
    )
    print(f"fragile:     {'per-entry masks (fragile.bin)' if hl.fragile is not None else 'none'}")
    if th is None:
        print(
            "threshold:   none recorded (pass --threshold to nhkit match, or run "
            "`nhkit match calibrate` and `nhkit hashlist set-threshold`)"
        )
    else:
        drift = "" if th["drift_p99"] is None else f", device drift p99 {th['drift_p99']} bits"
        print(
            f"threshold:   T = {th['recommended']} ({th['criterion']}: observed FPR "
            f"{th['fpr']:.3g} over {th['negative_pairs']} pairs of {th['negative_images']} "
            f"images{drift}; {th['source']})"
        )
    print("files:       " + ", ".join(f"{f['path']} ({f['size']} B)" for f in m["files"]))
    return 0


def run_merge(args: argparse.Namespace) -> int:
    from .hashlist import Entry, load, write_hashlist

    lists = [load(p) for p in args.lists]
    first = lists[0]
    entries: list[Entry] = []
    for hl in lists:
        first.check_identity(hl.model, hl.path)
        first.check_spec(hl.spec, hl.path)
    same_margin = all(hl.spec.fragile_margin == first.spec.fragile_margin for hl in lists)
    seen: dict[str, str] = {}
    for hl in lists:
        for e in hl.entries():
            eid = f"{hl.list_id}:{e.id}" if args.prefix_ids else e.id
            if eid in seen:
                raise NhkitError(
                    f"{hl.path}: id {eid!r} is also in {seen[eid]}; pass --prefix-ids to keep both"
                )
            seen[eid] = hl.path
            entries.append(
                Entry(eid, e.hash, e.label, e.source, e.meta, e.fragile if same_margin else None)
            )
    thresholds = {json.dumps(hl.threshold, sort_keys=True) for hl in lists}
    threshold = first.threshold if len(thresholds) == 1 else None
    rep = write_hashlist(
        args.output,
        entries,
        spec=first.spec,
        model=first.model,
        list_id=args.list_id,
        threshold=threshold,
        overwrite=args.force,
    )
    print(
        f"nhkit hashlist merge: wrote {args.output} ({rep.entries} entries, {rep.hashes} "
        "distinct hashes)",
        file=sys.stderr,
    )
    if len(thresholds) > 1:
        print(
            "nhkit hashlist merge: note: the lists record different thresholds; the merged "
            "list has none (run `nhkit hashlist set-threshold`)",
            file=sys.stderr,
        )
    if not same_margin:
        print(
            "nhkit hashlist merge: note: fragile masks dropped (lists use different fragile "
            "margins)",
            file=sys.stderr,
        )
    return 0


def diff_lists(old: Any, new: Any) -> dict[str, list[dict[str, Any]]]:
    """Entries added, removed and changed (same id; hash, label or source differ)."""
    a = {e.id: e for e in old.entries()}
    b = {e.id: e for e in new.entries()}
    added = [b[i].to_json() for i in sorted(set(b) - set(a))]
    removed = [a[i].to_json() for i in sorted(set(a) - set(b))]
    changed = []
    for i in sorted(set(a) & set(b)):
        ea, eb = a[i], b[i]
        fields = [
            f for f in ("hash", "label", "source", "meta") if getattr(ea, f) != getattr(eb, f)
        ]
        if fields:
            changed.append({"id": i, "fields": fields, "old": ea.to_json(), "new": eb.to_json()})
    return {"added": added, "removed": removed, "changed": changed}


def run_diff(args: argparse.Namespace) -> int:
    from .hashlist import load

    old, new = load(args.old), load(args.new)
    old.check_identity(new.model, new.path)
    d = diff_lists(old, new)
    if args.json:
        print(json.dumps(d, ensure_ascii=False))
    else:
        for e in d["added"]:
            print(f"+ {e['id']}  {e['hash']}  {e['label'] or ''}".rstrip())
        for e in d["removed"]:
            print(f"- {e['id']}  {e['hash']}  {e['label'] or ''}".rstrip())
        for c in d["changed"]:
            print(
                f"~ {c['id']}  {', '.join(c['fields'])}: {c['old']['hash']} -> {c['new']['hash']}"
            )
        print(
            f"{len(d['added'])} added, {len(d['removed'])} removed, {len(d['changed'])} changed",
            file=sys.stderr,
        )
    return 0


def read_threshold(report: str, model: dict[str, str]) -> dict[str, Any]:
    """The threshold object from a calibration report (checked against the list's model by
    the calibration module) or from a bare threshold.json."""
    p = Path(report)
    if p.is_dir() or p.name == "report.json":
        try:
            from .calibration_report import list_threshold
        except ModuleNotFoundError:
            raise NhkitError(
                "reading calibration reports needs `nhkit match calibrate`, which "
                "this build does not include; pass its threshold.json"
            ) from None
        threshold: dict[str, Any] = list_threshold(
            report, fingerprint=model["fingerprint"], seed_sha256=model["seed_sha256"]
        )
        return threshold
    from .jsonfile import read_json

    obj = read_json(p, what="threshold")
    if not isinstance(obj, dict):
        raise NhkitError(f"{p}: expected a threshold object")
    return obj


def run_set_threshold(args: argparse.Namespace) -> int:
    from .hashlist import load, with_threshold

    hl = load(args.list)
    th = read_threshold(args.report, hl.model)
    out = with_threshold(args.list, th, args.output or args.list)
    print(
        f"nhkit hashlist set-threshold: {out}: threshold T = {th['recommended']} "
        f"({th['criterion']}, FPR {th['fpr']:.3g} over {th['negative_pairs']} pairs)",
        file=sys.stderr,
    )
    return 0
