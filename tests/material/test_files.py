"""Reading an uploaded answer or source (proctor/material/files.py): a PDF rendered from HTML with Kazakh and Russian
text (weasyprint, as the protocol is made) and a .docx written with python-docx give their text back, tables
included; a PDF past the page limit, a broken PDF and a file of another kind are refused; a .txt in UTF-16 or
Windows-1251 is read."""

from __future__ import annotations

import io
import re

import docx
import pytest
from pypdf import PdfWriter
from weasyprint import HTML

from proctor.material.files import MAX_PDF_PAGES, read_text
from proctor.material.normalise import normalise
from proctor.sessions.errors import InvalidInputError, TooLargeError
from tests.material.corpus import sections

KAZAKH = "Қашықтан оқыту технологиялары бойынша білім беру қызметін ұйымдастыру қағидалары."
RUSSIAN = "Правила организации учебного процесса по дистанционным образовательным технологиям."


def pdf_of(*paragraphs: str) -> bytes:
    """A PDF rendered from HTML paragraphs by weasyprint (DejaVu Sans: Kazakh and Russian letters)."""
    body = "".join(f"<p>{paragraph}</p>" for paragraph in paragraphs)
    page = f'<html lang="kk"><body style="font: 11pt \'DejaVu Sans\'">{body}</body></html>'
    return bytes(HTML(string=page).write_pdf())


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


def test_a_pdfs_kazakh_and_russian_text_is_read() -> None:
    text = read_text("essay.PDF", pdf_of(KAZAKH, RUSSIAN))
    assert words(text) == words(KAZAKH) + words(RUSSIAN)
    assert "Қашықтан" in text and "ұйымдастыру" in text and "дистанционным" in text


def test_a_long_pdf_reads_as_the_same_terms_as_its_source() -> None:
    section = sections("order-349-2023-as-amended-by-103-2025-kk.txt")[4]
    paragraphs = section.text.split("\n\n")
    text = read_text("order.pdf", pdf_of(*paragraphs))
    assert normalise(text).terms == normalise(section.text).terms  # lines broken by the layout join up again


def test_a_docx_is_read_with_its_tables() -> None:
    document = docx.Document()
    document.add_paragraph(KAZAKH)
    document.add_paragraph("")
    document.add_paragraph(RUSSIAN)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Білім алушы"
    table.rows[0].cells[1].text = "Обучающийся"
    out = io.BytesIO()
    document.save(out)
    assert read_text("essay.docx", out.getvalue()).split("\n\n") == [KAZAKH, RUSSIAN, "Білім алушы", "Обучающийся"]


def test_a_txt_is_utf8_utf16_or_windows_1251() -> None:
    for data in (KAZAKH.encode(), "\ufeff".encode() + KAZAKH.encode(), KAZAKH.encode("utf-16")):
        assert read_text("a.txt", data) == KAZAKH
    assert read_text("a.txt", RUSSIAN.encode("cp1251")) == RUSSIAN


def test_what_cannot_be_read_is_refused() -> None:
    writer = PdfWriter()
    for _ in range(MAX_PDF_PAGES + 1):
        writer.add_blank_page(width=200, height=200)
    many = io.BytesIO()
    writer.write(many)
    with pytest.raises(InvalidInputError, match="pages"):
        read_text("long.pdf", many.getvalue())
    with pytest.raises(InvalidInputError, match="PDF"):
        read_text("broken.pdf", b"%PDF-1.7\nnot really")
    with pytest.raises(InvalidInputError, match="empty"):
        read_text("blank.pdf", pdf_of(""))
    with pytest.raises(InvalidInputError, match="one of"):
        read_text("essay.odt", b"PK")
    with pytest.raises(TooLargeError):
        read_text("big.txt", b"a" * (11 * 1024 * 1024))
