"""A small, fast .xlsx reader: every sheet's cell values, row by row.

openpyxl's read-only mode builds an object per cell (about 100 µs each with inline strings),
which made a county's 50,000-entry register take a minute to read. Imports need only values:
shared and inline strings, numbers and booleans. This reads the sheet XML with iterparse,
a few microseconds per cell. Dates stay numbers (the register has no date columns).
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from pathlib import Path
from xml.etree.ElementTree import Element, iterparse

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_REF = re.compile(r"([A-Z]+)(\d+)")

Rows = list[tuple[int, list[object]]]


def _column(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def _text(node: Element) -> str:
    """Return a string item's text: its <t>, or its rich-text runs' <t>s (not phonetic hints)."""
    parts = []
    for child in node:
        if child.tag == f"{NS}t":
            parts.append(child.text or "")
        elif child.tag == f"{NS}r":
            parts.append(child.findtext(f"{NS}t") or "")
    return "".join(parts)


def _shared(book: zipfile.ZipFile) -> list[str]:
    if "xl/sharedStrings.xml" not in book.namelist():
        return []
    strings: list[str] = []
    with book.open("xl/sharedStrings.xml") as fh:
        for _, node in iterparse(fh):
            if node.tag == f"{NS}si":
                strings.append(_text(node))
                node.clear()
    return strings


def _sheet_paths(book: zipfile.ZipFile) -> list[tuple[str, str]]:
    """Return (title, path in the zip) of every worksheet, in workbook order."""
    targets: dict[str, str] = {}
    with book.open("xl/_rels/workbook.xml.rels") as fh:
        for _, node in iterparse(fh):
            if node.tag == f"{PKG_REL}Relationship":
                target = node.get("Target", "")
                path = (
                    target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
                )
                targets[node.get("Id", "")] = posixpath.normpath(path)
    sheets: list[tuple[str, str]] = []
    with book.open("xl/workbook.xml") as fh:
        for _, node in iterparse(fh):
            if node.tag == f"{NS}sheet":
                member = targets.get(node.get(REL, ""))
                if member:
                    sheets.append((node.get("name", ""), member))
    return sheets


def _value(cell: Element, shared: list[str]) -> object:
    kind = cell.get("t", "n")
    if kind == "inlineStr":
        found = cell.find(f"{NS}is")
        return _text(found) if found is not None else ""
    raw = cell.findtext(f"{NS}v")
    if raw is None:
        return None
    if kind == "s":
        index = int(raw)
        return shared[index] if 0 <= index < len(shared) else ""
    if kind == "b":
        return raw == "1"
    if kind in ("str", "e"):
        return raw
    number = float(raw)
    return int(number) if number.is_integer() and "E" not in raw.upper() else number


def read(path: Path) -> list[tuple[str, Rows]]:
    """Return (sheet title, [(row number, cell values)]) for every worksheet.

    Raises zipfile.BadZipFile, KeyError or xml ParseError for a file that is not a workbook.
    """
    with zipfile.ZipFile(path) as book:
        shared = _shared(book)
        result: list[tuple[str, Rows]] = []
        for title, member in _sheet_paths(book):
            rows: Rows = []
            with book.open(member) as fh:
                for _, node in iterparse(fh):
                    if node.tag != f"{NS}row":
                        continue
                    number = int(node.get("r") or len(rows) + 1)
                    cells: list[object] = []
                    for cell in node.iter(f"{NS}c"):
                        m = _REF.match(cell.get("r", ""))
                        col = _column(m[1]) if m else len(cells)
                        cells.extend([None] * (col - len(cells)))
                        cells.append(_value(cell, shared))
                    rows.append((number, cells))
                    node.clear()
            result.append((title, rows))
        return result
