"""Spec step 2: EXIF orientation as exact pixel permutations (same result as
`PIL.ImageOps.exif_transpose`, but on arrays, so every language can match it index for index)."""

from __future__ import annotations

from typing import SupportsIndex, SupportsInt

import numpy as np

TYPE_CHECKING = False
if TYPE_CHECKING:
    from PIL import Image

EXIF_ORIENTATION_TAG = 0x0112


def apply_orientation(rgb: np.ndarray, orientation: int) -> np.ndarray:
    """Return the upright image for EXIF orientation 1..8; other values mean 1 (unchanged).

    Views are returned where possible; callers that need contiguous bytes copy once later."""
    a = rgb
    if orientation == 2:
        return a[:, ::-1]
    if orientation == 3:
        return a[::-1, ::-1]
    if orientation == 4:
        return a[::-1, :]
    if orientation == 5:  # transpose: out[y][x] = in[x][y]
        return a.swapaxes(0, 1)
    if orientation == 6:  # rotate 90 clockwise: out[y][x] = in[H-1-x][y]
        return a.swapaxes(0, 1)[:, ::-1]
    if orientation == 7:  # transverse: out[y][x] = in[H-1-x][W-1-y]
        return a.swapaxes(0, 1)[::-1, ::-1]
    if orientation == 8:  # rotate 90 counter-clockwise: out[y][x] = in[x][W-1-y]
        return a.swapaxes(0, 1)[::-1, :]
    return a


def normalise_orientation_tag(value: object) -> int:
    """A tag outside 1..8 (or absent, or not an integer) means 1, as the spec says."""
    if not isinstance(value, (str, bytes, SupportsInt, SupportsIndex)):
        return 1
    try:
        v = int(value)
    except (TypeError, ValueError, OverflowError):
        return 1
    return v if 1 <= v <= 8 else 1


def apply_orientation_image(im: Image.Image, orientation: int) -> Image.Image:
    """The same permutations on a Pillow image (its C transpose is an exact pixel permutation,
    and avoids a numpy round trip on the Hasher's fast path; tests check it equals the array
    version for all 8 tags)."""
    from PIL import Image

    method = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_270,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_90,
    }.get(orientation)
    return im if method is None else im.transpose(method)
