"""Deterministic zips of a folder, and the folder listing they (and bundle checks) are built on.

Why so strict about bytes: zips nhkit writes (device bundles, hash lists) are app assets that
are diffed, cached and signed. Zipping the same folder twice must give byte-identical archives:
entries sorted, fixed timestamps and permissions, no wall-clock anywhere, one top folder. The
caller says which entries are STORED (uncompressed: Android memory-maps assets only when
uncompressed); everything else is DEFLATED at level 9. The archive is written atomically.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from pathlib import Path

from .errors import NhkitError

ZIP_DATE = (1980, 1, 1, 0, 0, 0)
ZIP_FILE_MODE = 0o100644
ZIP_CREATE_SYSTEM = 3  # Unix, so the mode above is read as permissions


class ZipContentError(NhkitError):
    """A folder to be zipped holds something other than regular files (e.g. a symlink)."""


def list_files(folder: str | os.PathLike[str], *, regular_only: bool = False) -> list[str]:
    """Every file under `folder`, as sorted '/'-separated relative paths.

    With `regular_only`, a symlink or any other non-regular entry raises ZipContentError naming
    it (a writer must not package what a reader would refuse); without, they are listed, so a
    checker can report them as unexpected."""
    root = Path(folder)
    out = []
    for dirpath, dirs, names in os.walk(root):
        dirs.sort()
        for n in names:
            full = Path(dirpath) / n
            if regular_only and (full.is_symlink() or not full.is_file()):
                raise ZipContentError(f"{full}: only regular files can be packaged")
            out.append(full.relative_to(root).as_posix())
    return sorted(out)


def write_deterministic_zip(
    folder: str | os.PathLike[str],
    zip_path: str | os.PathLike[str],
    top: str,
    stored: Callable[[str], bool],
    *,
    compresslevel: int = 9,
) -> None:
    """Zip every regular file of `folder` under `top/` into `zip_path`, byte-reproducibly.

    `stored(rel)` says which relative paths go in uncompressed; the others are DEFLATEd at
    `compresslevel` (bundles: 9; hash lists: 1, where level 9 cost seconds per 10^6 entries
    for a few percent). The archive is built under a
    temporary name next to `zip_path` and renamed into place, so a reader never sees half."""
    src = Path(folder)
    dst = Path(zip_path)
    tmp = dst.with_name(f".{dst.name}.tmp-{os.getpid()}")
    try:
        with zipfile.ZipFile(tmp, "w") as zf:
            for rel in list_files(src, regular_only=True):
                info = zipfile.ZipInfo(f"{top}/{rel}", date_time=ZIP_DATE)
                info.create_system = ZIP_CREATE_SYSTEM
                info.external_attr = ZIP_FILE_MODE << 16
                data = (src / rel).read_bytes()
                if stored(rel):
                    info.compress_type = zipfile.ZIP_STORED
                    zf.writestr(info, data)
                else:
                    info.compress_type = zipfile.ZIP_DEFLATED
                    zf.writestr(
                        info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=compresslevel
                    )
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
