"""Check that an uploaded image is whole and safe to decode, and make its print copy.

The print copy has the EXIF orientation applied, is at most PRINT_MAX_WIDTH wide and carries no
metadata (GPS included). It is a JPEG because the PDF renderer copies a JPEG through without re-encoding.
"""

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError


class BadImage(ValueError):
    pass


@dataclass(frozen=True)
class PrintCopy:
    data: bytes
    width: int
    height: int
    operations: str


# A complete file ends with its format's trailer. We check it ourselves because WeasyPrint switches on
# Pillow's global LOAD_TRUNCATED_IMAGES when it is imported, which makes a truncated image decode quietly.
TRAILERS = {"JPEG": (b"\xff\xd9",), "GIF": (b"\x3b",)}


def check_image(path: Path, max_pixels: int) -> tuple[int, int]:
    """Open and fully decode the image under a pixel limit; return its size or raise BadImage."""
    try:
        with Image.open(path) as img:
            img.verify()  # structure and checksums (PNG CRCs, missing IEND)
            trailers = TRAILERS.get(img.format)
        if trailers and not path.read_bytes()[-64:].rstrip(b"\x00\r\n").endswith(trailers):
            raise BadImage("The image is damaged or truncated: its end is missing.")
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                width, height = img.size
                if width * height > max_pixels:
                    raise BadImage(
                        f"The image is {width}×{height} pixels, more than the {max_pixels:,} allowed "
                        "(this protects the server from decompression bombs)."
                    )
                img.load()
    except BadImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadImage("The image declares too many pixels to be decoded safely.") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise BadImage(f"The image is damaged or truncated and cannot be read ({exc}).") from exc
    return width, height


def make_print_copy(path: Path, max_width: int) -> PrintCopy:
    with Image.open(path) as img:
        img.seek(0)  # first frame of an animation
        oriented = ImageOps.exif_transpose(img)
        ops = ["exif orientation applied"] if oriented is not img else []
        frame = oriented.convert("RGBA") if oriented.mode in ("P", "LA", "PA") else oriented
        if frame.mode == "RGBA":
            flat = Image.new("RGB", frame.size, "white")
            flat.paste(frame, mask=frame.getchannel("A"))
            frame = flat
        elif frame.mode != "RGB":
            frame = frame.convert("RGB")
        if frame.width > max_width:
            height = round(frame.height * max_width / frame.width)
            frame = frame.resize((max_width, height), Image.Resampling.LANCZOS)
            ops.append(f"resized to {max_width} px wide")
        out = io.BytesIO()
        frame.save(out, "JPEG", quality=82, optimize=True)  # no exif= argument: metadata is dropped
        ops.append("metadata removed, saved as JPEG")
        return PrintCopy(out.getvalue(), frame.width, frame.height, "; ".join(ops))


def make_marked_copy(path: Path, regions, max_width: int) -> PrintCopy:
    """The print copy with highlights outlined and redactions filled solid; the original is not touched."""
    from PIL import ImageDraw

    base = make_print_copy(path, max_width)
    with Image.open(io.BytesIO(base.data)) as img:
        frame = img.convert("RGB")
    draw = ImageDraw.Draw(frame)
    line = max(3, frame.width // 300)
    for r in regions:
        box = (r.x * frame.width, r.y * frame.height, (r.x + r.w) * frame.width, (r.y + r.h) * frame.height)
        if r.kind == "redact":
            draw.rectangle(box, fill=(0, 0, 0))
        else:
            draw.rectangle(box, outline=(220, 30, 30), width=line)
    out = io.BytesIO()
    frame.save(out, "JPEG", quality=82, optimize=True)
    kinds = sorted({r.kind for r in regions})
    return PrintCopy(out.getvalue(), frame.width, frame.height,
                     f"{base.operations}; {len(regions)} region(s) drawn: {', '.join(kinds)}")


def perceptual_hash(path: Path) -> str:
    """A 64-bit pHash (ImageHash) as 16 hex digits: near-identical screenshots differ in a few bits."""
    import imagehash

    with Image.open(path) as img:
        return str(imagehash.phash(img))


# Near-duplicate screenshots. The 64-bit pHash above sees a screenshot's layout, not its words: two different
# posts drawn in one layout came 6 bits apart, while the same screenshot cropped by 2-5 % came up to 18 bits
# apart, so no threshold separated them. A 256-bit difference hash of the screenshot with its uniform margins
# trimmed sees the lines of text: tests/test_duplicates.py draws post cards (different posts in one layout;
# the same post re-encoded, resized, cropped, framed) and measures the gap this threshold sits in.
LOOK_HASH_SIZE = 16  # 16 x 16 = 256 bits, 64 hex digits
NEAR_DUPLICATE_BITS = 20  # at most this many of the 256 bits differ: "looks like the same screenshot"


def look_hash(source) -> str:
    """A 256-bit difference hash (ImageHash dhash) of the image in grey, its uniform margins trimmed."""
    import imagehash

    with Image.open(source) as img:
        grey = ImageOps.exif_transpose(img).convert("L")
    return str(imagehash.dhash(_trim(grey), hash_size=LOOK_HASH_SIZE))


def _trim(grey: Image.Image, tolerance: int = 16) -> Image.Image:
    """Cut away margins of one colour twice (a viewer's frame, then the page around the post); the two pixels
    along each cut go too (JPEG leaves a halo along a sharp edge)."""
    from PIL import ImageChops

    for _ in range(2):
        corner = grey.getpixel((0, 0))
        mask = ImageChops.difference(grey, Image.new("L", grey.size, corner))
        mask = mask.point(lambda v: 255 if v > tolerance else 0)
        box = mask.getbbox()
        if not box or (box[2] - box[0]) * (box[3] - box[1]) < 0.05 * grey.width * grey.height:
            break
        grey = grey.crop(box)
        if min(grey.size) > 40:
            grey = grey.crop((2, 2, grey.width - 2, grey.height - 2))
    return grey


def hash_distance(a: str, b: str) -> int:
    """How many bits two hashes of the same length (hex) differ in."""
    return (int(a, 16) ^ int(b, 16)).bit_count()
