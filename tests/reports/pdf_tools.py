"""Reading a rendered PDF in tests: text per page (pypdf), page size, page 1 as a PNG."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader


def page_texts(content: bytes) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages]


def page_size_pt(content: bytes) -> tuple[float, float]:
    box = PdfReader(io.BytesIO(content)).pages[0].mediabox
    return float(box.width), float(box.height)


def font_names(content: bytes) -> set[str]:
    names = set()
    for page in PdfReader(io.BytesIO(content)).pages:
        fonts = (page.get("/Resources") or {}).get("/Font") or {}
        for ref in fonts.values():
            names.add(str(ref.get_object().get("/BaseFont")))
    return names


def first_page_png(content: bytes, folder: Path, dpi: int = 50) -> Image.Image:
    """Page 1 through poppler's ``pdftoppm`` (Debian's poppler-utils; scripts/test.sh installs
    it when missing)."""
    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm is missing: apt-get install poppler-utils (scripts/test.sh does)")
    pdf = folder / "document.pdf"
    pdf.write_bytes(content)
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            str(dpi),
            "-f",
            "1",
            "-l",
            "1",
            "-png",
            "-singlefile",
            str(pdf),
            str(folder / "page1"),
        ],
        check=True,
        timeout=60,
    )
    return Image.open(folder / "page1.png").convert("RGB")
