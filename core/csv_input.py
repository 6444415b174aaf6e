"""One reader for every CSV file the product reads (the people import, and imports to come).

Customers' spreadsheets arrive as whatever their Excel saved: "CSV UTF-8" (with a BOM),
Japanese Excel's default "CSV" (CP932, i.e. Shift_JIS with Microsoft's extensions), "Unicode
text" (UTF-16 with a BOM, tab-separated), Excel for Mac's CR-only line ends. `read_csv` takes
the raw bytes and gives rows of text, or raises `CsvUnreadable` with a message for the person
who uploaded the file (never an exception that becomes a 500).
"""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
from dataclasses import dataclass

import charset_normalizer

from core.web.i18n import gettext as _

# Byte-order marks, longest first (the UTF-32 LE mark starts with the UTF-16 LE one).
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
# What a Japanese office saves besides UTF-8; charset-normalizer chooses among these only, since
# an open guess over all code pages reads short Japanese files as Chinese or Latin-1.
CANDIDATES = ["cp932", "euc_jis_2004", "iso2022_jp", "utf_16_le", "utf_16_be"]
DELIMITERS = ",\t;"
MAX_BYTES = 20 * 1024 * 1024
# The request body of a route that takes a CSV: the file at its limit plus the form's other fields,
# so a file over MAX_BYTES reaches `read_csv`, which says so, rather than the server's generic refusal.
REQUEST_MAX_BYTES = MAX_BYTES + 1024 * 1024


class CsvUnreadable(ValueError):
    """The file is not a table we can read; the message (translated) says how to save it."""


@dataclass(frozen=True)
class CsvTable:
    """A read file: `header` (column names, NFKC-normalised, stripped, lower case), `rows`
    (the line number where the record starts, 1-based as an editor counts; values by column name,
    stripped; what a value means, e.g. an e-mail address, is the importer's to normalise), the `encoding` and `delimiter` found."""

    header: list[str]
    rows: list[tuple[int, dict[str, str]]]  # (physical line number, values)
    encoding: str
    delimiter: str


def _how_to_save() -> str:
    return _("Save it from Excel as \"CSV UTF-8 (comma delimited)\", \"CSV (comma delimited)\" or "
             "\"Unicode text\" and upload it again.")


def decode(data: bytes) -> tuple[str, str]:
    """The text of a CSV file and the encoding it was in: a byte-order mark first, then strict
    UTF-8, then charset-normalizer among Japanese office encodings and BOM-less UTF-16.

    Raises CsvUnreadable when no encoding reads the whole file or the text holds NUL or other
    control characters (a binary file such as a real .xlsx)."""
    encoding = next((name for bom, name in BOMS if data.startswith(bom)), None)
    text = None
    if encoding is not None:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            text = None
    else:
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            # threshold=1: a column of full-width letters looks like "mess" to the detector's
            # default threshold, and is exactly what Japanese spreadsheets hold.
            best = charset_normalizer.from_bytes(data, cp_isolation=CANDIDATES, threshold=1.0).best()
            if best is not None:
                text, encoding = str(best), best.encoding
    if text is None:
        raise CsvUnreadable(_("The file could not be read as text.") + " " + _how_to_save())
    if any(unicodedata.category(c) == "Cc" and c not in "\t\r\n" for c in text):
        raise CsvUnreadable(_("The file holds control characters, so it is not a CSV text file.") + " "
                            + _how_to_save())
    return text.lstrip("\ufeff"), encoding


def _delimiter(text: str) -> str:
    first = text.splitlines()[0] if text else ""
    try:
        return csv.Sniffer().sniff(first, delimiters=DELIMITERS).delimiter
    except csv.Error:
        # One column, or the sniffer cannot decide: the most frequent candidate in the header.
        counts = {d: first.count(d) for d in DELIMITERS}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","




def read_csv(data: bytes) -> CsvTable:
    """Read a CSV (or tab-separated) file of any encoding, line end and delimiter listed above.

    `data` is the whole upload, at most MAX_BYTES. Rows with no value at all are skipped.
    Raises CsvUnreadable (translated message) for an empty, binary, undecodable or malformed file.
    """
    if not data.strip():
        raise CsvUnreadable(_("The file is empty."))
    if len(data) > MAX_BYTES:
        raise CsvUnreadable(_("The file is larger than 20 MB; split it into smaller files."))
    text, encoding = decode(data)
    delimiter = _delimiter(text)
    # newline="" lets the csv module see CR, LF and CRLF alike, also inside quoted values.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        records = [(reader.line_num, record) for record in reader]
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):  # the csv module's words for csv.field_size_limit()
            raise CsvUnreadable(_("Line %(line)s has a value of more than %(limit)s characters; no column takes "
                                  "that much.") % {"line": reader.line_num, "limit": f"{csv.field_size_limit():,}"}
                                ) from exc
        raise CsvUnreadable(_("Line %(line)s is not valid CSV (a quote is not closed?).")
                            % {"line": reader.line_num}) from exc
    records = [(line, record) for line, record in records if any(v.strip() for v in record)]
    if not records:
        raise CsvUnreadable(_("The file is empty."))
    _first, header_row = records[0]
    header = [unicodedata.normalize("NFKC", name).strip().lower() for name in header_row]
    rows = []
    for line, record in records[1:]:
        # reader.line_num counts physical lines read so far, i.e. the record's last line.
        first_line = line - sum(v.count("\n") + v.count("\r") - v.count("\r\n") for v in record)
        rows.append((first_line, {name: v.strip() for name, v in zip(header, record) if name}))
    return CsvTable(header=header, rows=rows, encoding=encoding, delimiter=delimiter)


def normalise_email(value: str) -> str:
    """An e-mail address as typed in a Japanese spreadsheet, made plain: NFKC (full-width letters,
    digits and ＠ become ASCII), every space removed (ideographic ones too), lower case."""
    return "".join(unicodedata.normalize("NFKC", value).split()).lower()
