"""Where a bundle's self-test files are, when the export put them in a second artefact.

`nhkit export --selftest separate` writes the cases not into `<bundle_id>/selftest/` but into
`<bundle_id>.selftest.zip` (docs/bundle-format.md, "Self-test placement"), so production apps
ship no test images. The manifest pins that archive (`selftest.archive`: file, sha256, size) and
lists each file in it (`selftest.files`: path, sha256, size, the rules of `files`). A reader
takes the self-test files from, in order: the bundle folder itself (the archive unpacked into
it), else the archive beside the bundle folder or zip; else the bundle has no cases here, which
is fine for hashing and an error only for what needs them (`Bundle.cases`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .digest import sha256_file


def separate_files(manifest: dict[str, Any]) -> list[dict[str, Any]] | None:
    """`selftest.files` when the cases ship separately, else None (they are in `files`)."""
    st = manifest.get("selftest") or {}
    return list(st["files"]) if "files" in st else None


def archive_name(manifest: dict[str, Any]) -> str | None:
    st = manifest.get("selftest") or {}
    return str(st["archive"]["file"]) if "archive" in st else None


def file_problems(root: Path, entries: list[dict[str, Any]]) -> list[str]:
    """Size and sha256 of each listed file under root, as for the manifest's `files`."""
    problems = []
    for entry in entries:
        p = root / entry["path"]
        if not p.is_file() or p.is_symlink():
            problems.append(f"{entry['path']}: missing")
        elif p.stat().st_size != entry["size"]:
            problems.append(
                f"{entry['path']}: size {p.stat().st_size} bytes, manifest says {entry['size']}"
            )
        elif sha256_file(p) != entry["sha256"]:
            problems.append(f"{entry['path']}: sha256 does not match the manifest's selftest.files")
    return problems


def locate(
    root: Path,
    src: Path,
    manifest: dict[str, Any],
    *,
    extract: Callable[[Path], tuple[tempfile.TemporaryDirectory[str], Path, str]],
    error: Callable[[Path, str], Exception],
) -> tuple[Path | None, tempfile.TemporaryDirectory[str] | None]:
    """(folder holding `selftest/`, temp dir to clean up) for a separate self-test, or (None,
    None) when neither the unpacked files nor the archive are here. Everything found is
    verified against the manifest; a mismatch raises `error(path, reason)`."""
    entries = separate_files(manifest) or []
    if (root / "selftest").exists():
        problems = file_problems(root, entries)
        if problems:
            raise error(
                root,
                "self-test files do not match the manifest's selftest.files:\n  "
                + "\n  ".join(problems[:20]),
            )
        return root, None
    name = archive_name(manifest)
    archive = src.parent / name if name else None
    if archive is None or not archive.is_file():
        return None, None
    pinned = manifest["selftest"]["archive"]
    if archive.stat().st_size != pinned["size"] or sha256_file(archive) != pinned["sha256"]:
        raise error(
            archive,
            "size or sha256 differs from the manifest's selftest.archive (an "
            "archive of another export?)",
        )
    tmp, top_dir, top = extract(archive)
    try:
        if top != manifest["bundle_id"]:
            raise error(
                archive, f"top folder {top!r} is not the bundle id {manifest['bundle_id']!r}"
            )
        present = sorted(
            p.relative_to(top_dir).as_posix() for p in top_dir.rglob("*") if p.is_file()
        )
        listed = [e["path"] for e in entries]
        problems = file_problems(top_dir, entries)
        problems += [
            f"{u}: in the archive but not in selftest.files"
            for u in sorted(set(present) - set(listed))
        ]
        if problems:
            raise error(
                archive,
                "does not match the manifest's selftest.files:\n  " + "\n  ".join(problems[:20]),
            )
    except BaseException:
        tmp.cleanup()
        raise
    return top_dir, tmp
