"""Training data: positive pairs (two edited copies of one image) made on the fly with Pillow/numpy.

Sources: random crops of real photos (decoded once, cached in memory at long side <= 512) and
procedural images (dead leaves, 1/f noise, gradients with text and shapes, blends). Each item of
a batch is one base image; both views are independent chains of the "in the wild" edits of
issue 3 (JPEG q20-95, down 0.2-1x / up, crop <= 10 %/side, aspect +-20 %, colour, blur, noise,
grayscale, text/logo overlay, borders, rotation +-5 deg). No horizontal flip.

Hard negatives: some real-photo items come with a "sibling" item: another crop of the same photo
with little overlap (IoU < 0.25), which the contrastive loss pushes apart like any other image.

Everything is a function of (seed, batch index), so a resumed run sees the same batches.
"""

from __future__ import annotations

import io
import json
import math
import os

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont

CACHE_LONG_SIDE = 512
PHOTOS: list[np.ndarray] = []  # filled by load_photos() before the worker pool forks
# v2: the source group (package) of each photo, and the photos of each group: a "cousin" (another
# photo of the same package: same subject, scene type or photographer) is the hard negative that
# the closest distinct pairs of an evaluation are made of.
GROUP_OF: list[int] = []
GROUP_MEMBERS: list[list[int]] = []
# v3: for each photo, the distinct training photos a model hashed closest to it
# (mine_negatives.py): the pairs that model confuses, whatever their package.
MINED: list[list[int]] = []
# knobs set by train.py before the pool forks (defaults = v1's recipe)
KNOBS = {
    "photo_share": 0.62,
    "cousin_p": 0.0,
    "geo": 1.0,
    "zoom_p": 0.0,
    "mined_p": 0.0,
    "exposure_p": 0.0,
    "gray_p": 0.12,
}
_FONTS: dict[int, ImageFont.ImageFont] = {}

WORDS = (
    "nhkit photo hash sample copyright 2024 holiday IMG_0042 beach party share me "
    "www.example.com @user lol watermark draft CONFIDENTIAL summer trip family"
).split()


def load_split(path):
    with open(path) as f:
        return json.load(f)


def split_folders(split_path, files, photos, extra, folder_args):
    """{prefix: folder} for a version-2 split's file names ("prefix/rel"): photos/ and
    photos_extra/ by their own flags, any other folder by `--folder NAME=PATH`. Stops naming the
    split when a prefix it uses has no folder, so a run never starts on part of its photos."""
    folders = {"photos": photos, "photos_extra": extra}
    for item in folder_args:
        name, _, path = item.partition("=")
        if not name or not path:
            raise SystemExit(f"--folder {item!r}: expected NAME=PATH")
        folders[name] = path
    missing = sorted({f.split("/", 1)[0] for f in files} - set(folders))
    if missing:
        raise SystemExit(f"{split_path}: training photos in folders not given: {missing}")
    return folders


def add_training_photo_args(ap, here):
    """The split and folder flags of the scripts that read a split's training photos outside
    training (mine_negatives, bit_correlation, pooling_probe), with train.py's defaults."""
    ap.add_argument("--split", required=True)
    ap.add_argument("--photos", default=os.path.join(here, "..", "..", "shared", "photos"))
    ap.add_argument("--extra", default=os.path.join(here, "..", "..", "shared", "photos_extra"))
    ap.add_argument("--folder", action="append", default=[], help="NAME=PATH, as in train.py")


def training_photo_paths(args, split):
    """Paths of the training photos of `split` (loaded from `args.split`), in the split's order."""
    files = split["train"]
    folders = split_folders(args.split, files, args.photos, args.extra, args.folder)
    return [os.path.join(folders[f.split("/", 1)[0]], f.split("/", 1)[1]) for f in files]


def load_mined(path, files):
    """Fill MINED from a mine_negatives.py file: for each training photo (in `files` order), the
    indices of the distinct training photos the mining model hashed closest to it."""
    with open(path) as f:
        mined = json.load(f)
    index = {name: i for i, name in enumerate(files)}
    unknown = sorted(set(mined["neighbours"]) - set(index))
    if unknown:
        raise SystemExit(f"{path}: {len(unknown)} photos not in the split (first: {unknown[0]})")
    MINED[:] = [[index[o] for o, _d in mined["neighbours"].get(name, [])] for name in files]
    return mined


def load_photos(photo_dir, files, groups=None):
    """Decode the training photos once, reduced to long side <= 512 (cheap workers).

    `photo_dir` is one folder, or a dict {prefix: folder} for files named "prefix/rel"
    (v2 trains on photos/ and part of photos_extra/). `groups` maps a file to its source group."""
    out = []
    for rel in files:
        if isinstance(photo_dir, dict):
            prefix, rest = rel.split("/", 1)
            path = os.path.join(photo_dir[prefix], rest)
        else:
            path = os.path.join(photo_dir, rel)
        im = Image.open(path).convert("RGB")
        s = CACHE_LONG_SIDE / max(im.size)
        if s < 1:
            im = im.resize(
                (max(1, round(im.width * s)), max(1, round(im.height * s))),
                Image.BICUBIC,
                reducing_gap=2.0,
            )
        out.append(np.asarray(im))
    PHOTOS[:] = out
    names: dict[str, int] = {}
    GROUP_OF[:] = [names.setdefault((groups or {}).get(f, f), len(names)) for f in files]
    GROUP_MEMBERS[:] = [[] for _ in names]
    for i, g in enumerate(GROUP_OF):
        GROUP_MEMBERS[g].append(i)
    return out


def font(size):
    size = int(max(8, min(size, 120)))
    if size not in _FONTS:
        try:
            _FONTS[size] = ImageFont.load_default(size=size)
        except Exception:  # pragma: no cover - very old Pillow
            _FONTS[size] = ImageFont.load_default()
    return _FONTS[size]


def rand_color(rng):
    return tuple(int(v) for v in rng.integers(0, 256, 3))


# ---------------------------------------------------------------- procedural sources


def dead_leaves(rng, w, h):
    im = Image.new("RGB", (w, h), rand_color(rng))
    d = ImageDraw.Draw(im)
    n = int(rng.integers(40, 250))
    rmin, rmax = 0.01 * max(w, h), 0.35 * max(w, h)
    for _ in range(n):
        # power-law radii, as in the dead-leaves model
        u = rng.random()
        r = (rmin**-2 + u * (rmax**-2 - rmin**-2)) ** -0.5
        cx, cy = rng.random() * w, rng.random() * h
        box = [cx - r, cy - r * rng.uniform(0.5, 1.5), cx + r, cy + r * rng.uniform(0.5, 1.5)]
        kind = rng.random()
        if kind < 0.6:
            d.ellipse(box, fill=rand_color(rng))
        elif kind < 0.9:
            d.rectangle(box, fill=rand_color(rng))
        else:
            pts = [
                (cx + r * math.cos(a), cy + r * math.sin(a))
                for a in np.sort(rng.uniform(0, 2 * math.pi, int(rng.integers(3, 7))))
            ]
            d.polygon(pts, fill=rand_color(rng))
    return im


def pink_noise(rng, w, h):
    n = 128
    fy = np.fft.fftfreq(n)[:, None]
    fx = np.fft.rfftfreq(n)[None, :]
    f = np.sqrt(fx * fx + fy * fy)
    f[0, 0] = 1.0
    alpha = rng.uniform(1.0, 2.2)
    chans = []
    mix = rng.normal(size=(3, 3)) * 0.5 + np.eye(3)
    for _ in range(3):
        spec = (rng.normal(size=f.shape) + 1j * rng.normal(size=f.shape)) / f**alpha
        spec[0, 0] = 0
        chans.append(np.fft.irfft2(spec, s=(n, n)))
    a = np.stack(chans, -1) @ mix
    a = (a - a.mean((0, 1))) / (a.std((0, 1)) + 1e-8)
    a = 128 + a * rng.uniform(30, 70) + rng.uniform(-50, 50, 3)
    im = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    return im.resize((w, h), Image.BICUBIC)


def gradient_text(rng, w, h):
    c0, c1 = np.array(rand_color(rng), float), np.array(rand_color(rng), float)
    ang = rng.uniform(0, 2 * math.pi)
    yy, xx = np.mgrid[0:h, 0:w]
    t = xx * math.cos(ang) + yy * math.sin(ang)
    t = (t - t.min()) / (t.max() - t.min() + 1e-8)
    a = c0 * (1 - t[..., None]) + c1 * t[..., None]
    im = Image.fromarray(a.astype(np.uint8))
    d = ImageDraw.Draw(im)
    for _ in range(int(rng.integers(1, 6))):
        x0, y0 = rng.random() * w, rng.random() * h
        s = rng.uniform(0.05, 0.4) * min(w, h)
        if rng.random() < 0.5:
            d.ellipse([x0, y0, x0 + s, y0 + s * rng.uniform(0.5, 2)], fill=rand_color(rng))
        else:
            d.rectangle([x0, y0, x0 + s, y0 + s * rng.uniform(0.5, 2)], fill=rand_color(rng))
    for _ in range(int(rng.integers(1, 8))):
        txt = " ".join(rng.choice(WORDS, int(rng.integers(1, 4))))
        d.text(
            (rng.random() * w * 0.8, rng.random() * h * 0.9),
            txt,
            fill=rand_color(rng),
            font=font(rng.uniform(0.04, 0.15) * h),
        )
    return im


def photo_crop(rng, w, h, idx=None, window=None):
    """Random crop (25-100 % of the area) of a cached photo, resized to (w, h)."""
    if idx is None:
        idx = int(rng.integers(len(PHOTOS)))
    a = PHOTOS[idx]
    ph, pw = a.shape[:2]
    if window is None:
        area = rng.uniform(0.25, 1.0)
        ar = math.exp(rng.uniform(math.log(0.6), math.log(1.6)))
        cw = min(pw, int(round(math.sqrt(area * pw * ph * ar))))
        ch = min(ph, int(round(math.sqrt(area * pw * ph / ar))))
        x0 = int(rng.integers(0, pw - cw + 1))
        y0 = int(rng.integers(0, ph - ch + 1))
        window = (x0, y0, cw, ch)
    x0, y0, cw, ch = window
    im = Image.fromarray(a[y0 : y0 + ch, x0 : x0 + cw])
    return im.resize((w, h), Image.BILINEAR, reducing_gap=2.0), idx, window


def sibling_window(rng, idx, window):
    """Another window of the same photo with IoU < 0.25 (a hard negative), or None."""
    ph, pw = PHOTOS[idx].shape[:2]
    x0, y0, cw, ch = window
    for _ in range(20):
        area = rng.uniform(0.15, 0.6)
        ar = math.exp(rng.uniform(math.log(0.6), math.log(1.6)))
        w2 = min(pw, int(round(math.sqrt(area * pw * ph * ar))))
        h2 = min(ph, int(round(math.sqrt(area * pw * ph / ar))))
        a0 = int(rng.integers(0, pw - w2 + 1))
        b0 = int(rng.integers(0, ph - h2 + 1))
        ix = max(0, min(x0 + cw, a0 + w2) - max(x0, a0))
        iy = max(0, min(y0 + ch, b0 + h2) - max(y0, b0))
        inter = ix * iy
        iou = inter / (cw * ch + w2 * h2 - inter)
        if iou < 0.25 and w2 > 32 and h2 > 32:
            return (a0, b0, w2, h2)
    return None


def base_image(rng, w, h):
    u = rng.random()
    if u < KNOBS["photo_share"] and PHOTOS:
        im, idx, win = photo_crop(rng, w, h)
        return im, (idx, win)
    # the procedural share keeps v1's proportions inside what the photos leave
    v = (u - KNOBS["photo_share"]) / max(1e-9, 1.0 - KNOBS["photo_share"])
    if v < 0.10 / 0.38:
        im = dead_leaves(rng, w, h)
    elif v < 0.18 / 0.38:
        im = pink_noise(rng, w, h)
    elif v < 0.26 / 0.38:
        im = gradient_text(rng, w, h)
    else:  # blend of a procedural image and a photo / two procedural images
        gen = [dead_leaves, pink_noise, gradient_text][int(rng.integers(3))]
        a = gen(rng, w, h)
        if PHOTOS and rng.random() < 0.7:
            b = photo_crop(rng, w, h)[0]
        else:
            b = [dead_leaves, pink_noise, gradient_text][int(rng.integers(3))](rng, w, h)
        im = Image.blend(a, b, rng.uniform(0.3, 0.7))
    return im, None


# ---------------------------------------------------------------- edits


def hue_shift(im, shift):
    hsv = np.asarray(im.convert("HSV")).copy()
    hsv[..., 0] = (hsv[..., 0].astype(np.int16) + int(round(shift * 255))) % 256
    return Image.fromarray(hsv, "HSV").convert("RGB")


def overexpose(rng, im):
    """Brightness raised until a drawn share (30-85 %) of the pixels clips at 255, as a very
    bright photo brightened by x1.2 does (v3's misses on the fresh set: 84-86 %). Phase 18: the
    evaluation's brightness edit clips only the bright photos, which the colour jitter alone
    rarely pushes that far. The gain is kept to 1.1-4 so a dark photo is not turned to noise."""
    peak = np.asarray(im).max(axis=2)
    share = rng.uniform(0.3, 0.85)
    level = float(np.quantile(peak, 1.0 - share))
    gain = float(np.clip(255.0 / max(level, 1.0), 1.1, 4.0))
    return ImageEnhance.Brightness(im).enhance(gain)


def overlay(rng, im):
    im = im.copy()
    w, h = im.size
    if rng.random() < 0.6:
        d = ImageDraw.Draw(im)
        txt = " ".join(rng.choice(WORDS, int(rng.integers(1, 4))))
        d.text(
            (rng.random() * w * 0.7, rng.random() * h * 0.9),
            txt,
            fill=rand_color(rng),
            font=font(rng.uniform(0.04, 0.12) * h),
        )
    else:  # semi-transparent logo box / disc
        layer = Image.new("RGBA", im.size, (0, 0, 0, 0))
        d = ImageDraw.Draw(layer)
        s = rng.uniform(0.06, 0.2) * min(w, h)
        x0 = rng.random() * (w - s)
        y0 = rng.random() * (h - s)
        col = rand_color(rng) + (int(rng.integers(90, 256)),)
        if rng.random() < 0.5:
            d.ellipse([x0, y0, x0 + s, y0 + s], fill=col)
        else:
            d.rectangle([x0, y0, x0 + s, y0 + s * 0.6], fill=col)
        d.text(
            (x0 + s * 0.1, y0 + s * 0.15),
            str(rng.choice(WORDS))[:6],
            fill=rand_color(rng) + (255,),
            font=font(s * 0.25),
        )
        im = Image.alpha_composite(im.convert("RGBA"), layer).convert("RGB")
    return im


def content_crop(rng, strength=1.0):
    """The fractions (left, top, right, bottom) cut from a view, or None for no crop.

    v2 phase 9 (zoom_p > 0): a zoom, the same crop on every side (+-20 %), up to a little past
    the evaluation's centre crop of 10 % per side. Independent per-side crops almost never make
    a 1.25x zoom between a pair's two views (all four sides >= 0.1 at geo 1.25: p = 0.2^4), so
    the commonest crop a user makes was the edit training saw least. Drawn only when the knob is
    on, so that earlier recipes see the same batches as before."""
    if KNOBS["zoom_p"] > 0 and rng.random() < KNOBS["zoom_p"]:
        return tuple(rng.uniform(0.04, 0.13) * rng.uniform(0.8, 1.2, 4) * strength)
    if rng.random() < min(0.9, 0.7 * KNOBS["geo"]):  # content crop <= 10 % per side (x geo)
        return tuple(rng.uniform(0, 0.1 * KNOBS["geo"], 4) * strength)
    return None


def augment(rng, im, strength=1.0):
    """One random chain of in-the-wild edits. `im` is a PIL RGB image."""
    w, h = im.size
    geo = KNOBS["geo"]  # v2 (geo > 1): more often, and up to a little past the evaluation's edits
    box = content_crop(rng, strength)
    if box is not None:
        left, t, r, b = box
        im = im.crop((int(left * w), int(t * h), w - int(r * w), h - int(b * h)))
    if rng.random() < min(0.8, 0.35 * geo):  # rotation +-6 deg (x geo)
        ang = rng.uniform(-6, 6) * geo
        if rng.random() < 0.5:
            im = im.rotate(
                ang,
                Image.BILINEAR,
                expand=False,
                fillcolor=rand_color(rng) if rng.random() < 0.3 else (0, 0, 0),
            )
        else:  # rotate, then crop to the inscribed rectangle
            w1, h1 = im.size
            im = im.rotate(ang, Image.BILINEAR, expand=False)
            f = abs(math.sin(math.radians(ang)))
            dx, dy = int(math.ceil(h1 * f)) + 1, int(math.ceil(w1 * f)) + 1
            if w1 - 2 * dx > 16 and h1 - 2 * dy > 16:
                im = im.crop((dx, dy, w1 - dx, h1 - dy))
    if rng.random() < 0.3:  # aspect change +-20 %
        w1, h1 = im.size
        im = im.resize((max(8, int(w1 * rng.uniform(0.8, 1.2))), h1), Image.BICUBIC)
    if rng.random() < min(0.6, 0.15 * geo * geo):  # border
        w1, h1 = im.size
        if rng.random() < 0.5:
            left = t = r = b = rng.uniform(0.02, 0.12 * geo)
        else:
            left, t, r, b = rng.uniform(0, 0.12 * geo, 4)
        col = (
            rand_color(rng)
            if rng.random() < 0.5
            else ((0, 0, 0) if rng.random() < 0.5 else (255, 255, 255))
        )
        new = Image.new(
            "RGB", (w1 + int(left * w1) + int(r * w1), h1 + int(t * h1) + int(b * h1)), col
        )
        new.paste(im, (int(left * w1), int(t * h1)))
        im = new
    if rng.random() < 0.8:  # colour jitter
        ops = [
            ("b", rng.uniform(0.65, 1.4)),
            ("c", rng.uniform(0.65, 1.4)),
            ("s", rng.uniform(0.3, 1.6)),
        ]
        rng.shuffle(ops)
        for k, v in ops:
            if rng.random() < 0.7:
                im = {
                    "b": ImageEnhance.Brightness,
                    "c": ImageEnhance.Contrast,
                    "s": ImageEnhance.Color,
                }[k](im).enhance(v)
        if rng.random() < 0.3:
            im = hue_shift(im, rng.uniform(-0.1, 0.1))
    # phase 18's knob; off, no number is drawn, so earlier recipes see the same stream
    if KNOBS["exposure_p"] > 0 and rng.random() < KNOBS["exposure_p"]:
        im = overexpose(rng, im)
    if rng.random() < KNOBS["gray_p"]:
        im = im.convert("L").convert("RGB")
    if rng.random() < 0.25:
        im = overlay(rng, im)
    if rng.random() < 0.2:
        im = im.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 2.0)))
    if rng.random() < 0.2:
        a = np.asarray(im).astype(np.float32)
        a = a + rng.normal(0, rng.uniform(2, 12), a.shape).astype(np.float32)
        im = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    u = rng.random()
    if u < 0.45:  # downscale 0.2-1x (and maybe back up)
        w1, h1 = im.size
        s = rng.uniform(0.2, 1.0)
        im = im.resize(
            (max(16, int(w1 * s)), max(16, int(h1 * s))),
            [Image.BILINEAR, Image.BICUBIC, Image.LANCZOS, Image.BOX][int(rng.integers(4))],
        )
        if rng.random() < 0.5:
            im = im.resize((w1, h1), Image.BICUBIC)
    elif u < 0.55:  # upscale
        w1, h1 = im.size
        s = rng.uniform(1.0, 1.6)
        im = im.resize((int(w1 * s), int(h1 * s)), Image.BICUBIC)
    if rng.random() < 0.6:
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=int(rng.integers(20, 96)))
        buf.seek(0)
        im = Image.open(buf).convert("RGB")
    return im


def squash(im, size):
    """The hash's own geometry: aspect not kept, bicubic to size x size."""
    return np.asarray(im.resize((size, size), Image.BICUBIC))


def make_batch(args):
    """(seed, step, size, n_pairs) -> uint8 arrays v1, v2 of shape (n, size, size, 3)."""
    seed, step, size, n = args
    rng = np.random.default_rng([seed, step])
    v1 = np.empty((n, size, size, 3), np.uint8)
    v2 = np.empty_like(v1)
    i = 0
    while i < n:
        bw = int(size * rng.uniform(1.0, 1.35))
        ar = math.exp(rng.uniform(math.log(0.65), math.log(1.55)))
        w, h = max(32, int(bw * math.sqrt(ar))), max(32, int(bw / math.sqrt(ar)))
        base, info = base_image(rng, w, h)
        items = [base]
        if info is not None and rng.random() < 0.3 and i + 1 < n:
            win = sibling_window(rng, *info)
            if win is not None:
                items.append(photo_crop(rng, w, h, idx=info[0], window=win)[0])
        if info is not None and KNOBS["cousin_p"] > 0 and rng.random() < KNOBS["cousin_p"]:
            members = GROUP_MEMBERS[GROUP_OF[info[0]]]
            if len(members) > 1 and i + len(items) < n:
                j = members[int(rng.integers(len(members)))]
                if j != info[0]:
                    items.append(photo_crop(rng, w, h, idx=j)[0])
        # only drawn when mined_p > 0, so earlier recipes see the same random stream
        if info is not None and KNOBS["mined_p"] > 0 and rng.random() < KNOBS["mined_p"]:
            near = MINED[info[0]] if MINED else []
            if near and i + len(items) < n:
                j = near[int(rng.integers(len(near)))]
                items.append(photo_crop(rng, w, h, idx=j)[0])
        for b in items:
            v1[i] = squash(augment(rng, b), size)
            v2[i] = squash(augment(rng, b), size)
            i += 1
    return v1, v2
