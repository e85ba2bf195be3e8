"""Files for upload tests: real, tiny and the same bytes on every run (PDF, PNG, JPEG), and files that
only start like one (for the check's refusals)."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import UTC, datetime


def pdf(text: str = "Signed on paper", pages: int = 1) -> bytes:
    """A real PDF of `pages` pages showing `text` (different texts give different bytes)."""
    from fpdf import FPDF

    document = FPDF()
    document.set_creation_date(datetime(2027, 1, 1, tzinfo=UTC))  # the same bytes on every run
    document.set_font("helvetica", size=12)
    for page in range(pages):
        document.add_page()
        document.cell(text=f"{text} ({page + 1})")
    return bytes(document.output())


def encrypted_pdf(user_password: str, owner_password: str = "owner") -> bytes:
    """A real PDF encrypted with these passwords (an empty user password opens without asking)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf())))
    writer.encrypt(user_password=user_password, owner_password=owner_password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf_without_pages() -> bytes:
    """A well-formed PDF whose page tree holds no page."""
    from pypdf import PdfWriter

    out = io.BytesIO()
    PdfWriter().write(out)
    return out.getvalue()


# What a browser shows as a page: the type a client claimed, then a web page.
HTML_AS_PDF = b"%PDF-1.7\n<html><body><script>fetch('/steal')</script></body></html>\n%%EOF\n"


def image(
    kind: str = "PNG", size: tuple[int, int] = (16, 12), colour: tuple[int, int, int] = (30, 90, 160)
) -> bytes:
    """A real image of this Pillow format ("PNG" or "JPEG")."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, kind)
    return out.getvalue()


def png() -> bytes:
    return image("PNG")


def jpeg() -> bytes:
    return image("JPEG")


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_THEN_GARBAGE = PNG_SIGNATURE + bytes(range(256)) * 4
JPEG_THEN_GARBAGE = b"\xff\xd8\xff\xe0" + b"\x13\x37" * 300


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A valid black one-bit PNG of these dimensions: a few kilobytes on disk whatever its size
    decoded (a decompression bomb when large)."""
    rows = zlib.compressobj(9)
    row = b"\x00" + b"\x00" * ((width + 7) // 8)  # filter byte "none", then the row's bits
    data = b"".join(rows.compress(row) for _ in range(height)) + rows.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, greyscale
    return PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


def huge_png_claim() -> bytes:
    """A PNG header claiming 100000 x 100000 pixels with almost nothing after it."""
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)  # 8 bits, RGB
    idat = zlib.compress(b"\x00" * 1024)
    return PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
