"""Images of the card face: synthetic ones for virtual cards, and JPEG 2000 to PNG for browsers.

The card stores the face photo as greyscale JPEG 2000 (JP2 container) and the name,
address and security-code images as 1-bit PNG. Browsers other than Safari do not show
JPEG 2000, so ``jp2_to_png`` converts the photo before it is served. This is the only
module of the card core that imports Pillow.
"""

from __future__ import annotations

import hashlib
import io
import logging
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from mynacard.errors import CardDataError

logger = logging.getLogger(__name__)

PHOTO_SIZE = (240, 300)  # width, height in pixels of the synthetic photo
TEXT_IMAGE_HEIGHT = 32
SECURITY_CODE_IMAGE_SIZE = (24, 12)  # the size surveyed on a real card
JAPANESE_FONT = Path("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf")
# A compression ratio that keeps the synthetic photo near the size of a real card's
# photo (a few kilobytes) so that read timings stay realistic.
_JP2_RATE = 40


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if JAPANESE_FONT.exists():
        return ImageFont.truetype(str(JAPANESE_FONT), size)
    # NOTE: without the IPAex font (Debian fonts-ipaexfont-gothic), Japanese text
    # is drawn as missing-glyph boxes.
    logger.warning("font %s not found; card-face text images will lack Japanese glyphs", JAPANESE_FONT)
    return ImageFont.load_default()


def synthetic_photo_jp2(seed: str) -> bytes:
    """Draw a greyscale head-and-shoulders silhouette, varied by ``seed``, and return it as JP2."""
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    width, height = PHOTO_SIZE
    image = Image.new("L", PHOTO_SIZE, 200 + digest[0] % 40)
    draw = ImageDraw.Draw(image)
    tone = 90 + digest[1] % 60
    head_width = 90 + digest[2] % 30
    head_top = 50 + digest[3] % 20
    left = (width - head_width) // 2
    draw.ellipse((left, head_top, left + head_width, head_top + int(head_width * 1.3)), fill=tone)
    draw.ellipse((30, height - 90, width - 30, height + 90), fill=tone - 30)
    return photo_to_jp2(image)


def photo_to_jp2(image: Image.Image) -> bytes:
    """Encode an image as greyscale JPEG 2000 in a JP2 container, as the card stores the photo."""
    output = io.BytesIO()
    image.convert("L").save(output, "JPEG2000", irreversible=True, quality_mode="rates", quality_layers=[_JP2_RATE])
    return output.getvalue()


def load_photo_jp2(path: Path) -> bytes:
    """Load any image Pillow reads, fit it to the photo size and return it as greyscale JP2."""
    with Image.open(path) as image:
        fitted = image.convert("L").resize(PHOTO_SIZE)
    return photo_to_jp2(fitted)


def text_png(text: str, height: int = TEXT_IMAGE_HEIGHT) -> bytes:
    """Render ``text`` black on white as a 1-bit PNG, as the card stores the name and address."""
    font = _font(height - 8)
    probe = ImageDraw.Draw(Image.new("1", (1, 1)))
    left, _top, right, _bottom = probe.textbbox((0, 0), text, font=font)
    image = Image.new("1", (max(1, right - left) + 8, height), 1)
    ImageDraw.Draw(image).text((4 - left, 2), text, font=font, fill=0)
    return _png(image)


def security_code_png(code: str) -> bytes:
    """Render the 4-digit security code as a small 1-bit PNG."""
    image = Image.new("1", SECURITY_CODE_IMAGE_SIZE, 1)
    ImageDraw.Draw(image).text((0, 0), code, font=ImageFont.load_default(), fill=0)
    return _png(image)


def jp2_to_png(jp2: bytes) -> bytes:
    """Convert the card's JPEG 2000 face photo to PNG for browsers; raise CardDataError when it cannot be decoded."""
    try:
        with Image.open(io.BytesIO(jp2)) as image:
            image.load()
            return _png(image.convert("L"))
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise CardDataError(f"face photo is not a decodable JPEG 2000 image: {exc}") from exc


def _png(image: Image.Image) -> bytes:
    output = io.BytesIO()
    image.save(output, "PNG", optimize=True)
    return output.getvalue()
