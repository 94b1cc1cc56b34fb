"""PNG encoding of a PIL image, the one way pages, reports and the CLI turn pictures into bytes."""

from __future__ import annotations

import io

from PIL import Image


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
