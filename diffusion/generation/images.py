"""Generated images as PNG bytes, with the reproducibility record in PNG text chunks, and grids.

Images are uint8 grayscale arrays (N, 28, 28). The record (seeds, model hash, profile hash,
sampler settings, code version) is written as one ``spindiff`` iTXt chunk holding JSON, so any PNG
viewer shows it and `read_record` gets it back.
"""

from __future__ import annotations

import io
import json
import math

import numpy as np
from PIL import Image, PngImagePlugin

from device.errors import InputError

RECORD_KEY = "spindiff"


def _check_images(images) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise InputError(f"images must be a uint8 array (N, H, W), got {images.dtype} {images.shape}")
    return images


def png_bytes(image: np.ndarray, record: dict | None = None, scale: int = 1) -> bytes:
    """One grayscale uint8 image (H, W) as PNG bytes, optionally upscaled by ``scale`` (nearest)."""
    image = np.asarray(image)
    if image.ndim != 2 or image.dtype != np.uint8:
        raise InputError(f"an image must be uint8 (H, W), got {image.dtype} {image.shape}")
    picture = Image.fromarray(image, mode="L")
    if scale > 1:
        picture = picture.resize((image.shape[1] * scale, image.shape[0] * scale), Image.NEAREST)
    info = PngImagePlugin.PngInfo()
    if record is not None:
        info.add_itxt(RECORD_KEY, json.dumps(record, sort_keys=True))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def read_record(png: bytes) -> dict | None:
    """The reproducibility record stored by `png_bytes`, or None."""
    with Image.open(io.BytesIO(png)) as picture:
        text = picture.text.get(RECORD_KEY) if hasattr(picture, "text") else None
    return json.loads(text) if text else None


def grid(images, columns: int | None = None, padding: int = 2, background: int = 0) -> np.ndarray:
    """Tile (N, H, W) uint8 images into one (rows·(H+p)+p, cols·(W+p)+p) uint8 image."""
    images = _check_images(images)
    n, h, w = images.shape
    if n == 0:
        raise InputError("grid needs at least one image")
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    out = np.full((rows * (h + padding) + padding, columns * (w + padding) + padding), background, dtype=np.uint8)
    for k in range(n):
        r, c = divmod(k, columns)
        top, left = padding + r * (h + padding), padding + c * (w + padding)
        out[top : top + h, left : left + w] = images[k]
    return out


def to_uint8(x) -> np.ndarray:
    """Model-range images in [−1, 1], shape (N, 1, H, W) or (N, H, W) → uint8 (N, H, W)."""
    array = np.asarray(x, dtype=np.float32)
    if array.ndim == 4:
        array = array[:, 0]
    return np.clip(np.rint((array + 1.0) * 127.5), 0, 255).astype(np.uint8)
