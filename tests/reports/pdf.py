"""Reading a PDF back in tests: its text and page count (pypdf, a dev dependency)."""

from __future__ import annotations

import io

import pypdf


def pdf_text_and_pages(content: bytes) -> tuple[str, int]:
    reader = pypdf.PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages), len(reader.pages)
