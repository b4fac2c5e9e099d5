"""Reading a PDF back in tests: its text and page count, with pypdf where installed, else poppler's pdftotext and
pdfinfo (Debian's poppler-utils, installed by `make pdftools`)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest


def pdf_text_and_pages(content: bytes) -> tuple[str, int]:
    try:
        import pypdf
    except ImportError:
        pypdf = None
    if pypdf is not None:
        import io

        reader = pypdf.PdfReader(io.BytesIO(content))
        return "\n".join(page.extract_text() for page in reader.pages), len(reader.pages)
    if not (shutil.which("pdftotext") and shutil.which("pdfinfo")):
        pytest.skip("neither pypdf nor poppler-utils (pdftotext, pdfinfo) is installed: run `make pdftools`")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "report.pdf"
        path.write_bytes(content)
        text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True)
        info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    return text.stdout, int(re.search(r"^Pages:\s+(\d+)", info.stdout, flags=re.M).group(1))
