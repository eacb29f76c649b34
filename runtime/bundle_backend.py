"""A Hasher for a device bundle: `nhkit hash --bundle B`, `nhkit golden create --bundle B`.

The bundle is verified completely first (`bundle.load_bundle`: manifest schema, every file's
size and sha256), so a hash computed "with bundle B" is always computed with the bytes its
manifest describes. The bundle's spec is used, except where the caller explicitly chooses the
orientation policy or the fragile margin (the margin only changes reporting, never a hash).
"""

from __future__ import annotations

import dataclasses
import os

from .errors import NhkitError
from .hasher import Hasher
from .spec import DEFAULT_MAX_PIXELS, parse_orientation


def hasher_for_bundle(
    path: str | os.PathLike[str],
    *,
    orientation: str | None = None,
    fragile_margin: float | None = None,
    threads: int | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    with_digests: bool = False,
) -> Hasher:
    """Load and verify the bundle, and return a Hasher on its own model and seed.

    `orientation` None keeps the bundle's policy; a different explicit policy is allowed (it is
    the caller's hash definition) but then the bundle's self-test no longer covers it. The
    returned hasher keeps the bundle open (a zip's extracted copy lives as long as it does)."""
    from .backends.factory import bundle_backend
    from .bundle import load_bundle

    bundle = load_bundle(path)
    try:
        spec = bundle.spec
        if orientation is not None and orientation != spec.orientation:
            if orientation not in ("apply", "ignore"):
                raise NhkitError(f"orientation must be 'apply' or 'ignore', got {orientation!r}")
            spec = dataclasses.replace(spec, orientation=parse_orientation(orientation))
        if fragile_margin is not None:
            spec = dataclasses.replace(spec, fragile_margin=float(fragile_margin))
        backend = bundle_backend(bundle, threads=threads)
    except BaseException:
        bundle.close()
        raise
    return Hasher(
        backend, bundle.seed, spec, max_pixels=max_pixels, with_digests=with_digests, bundle=bundle
    )
