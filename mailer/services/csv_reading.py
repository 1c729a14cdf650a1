"""Reading the CSV files people actually have: Excel's UTF-16 and Latin-1 exports, a BOM,
semicolons in Europe, tabs from spreadsheets. Pure functions over bytes; no database."""

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

DELIMITERS = (",", ";", "\t", "|")
SAMPLE_BYTES = 64 * 1024
# Our fields -> header spellings (lower case, letters and digits only) that mean them.
FIELD_SPELLINGS = {
    "email": {"email", "emailaddress", "mail", "emailadresse", "courriel", "correo"},
    "first_name": {"firstname", "first", "givenname", "forename", "vorname", "prenom"},
    "last_name": {"lastname", "last", "surname", "familyname", "nachname", "nom"},
}
MAPPED_FIELDS = tuple(FIELD_SPELLINGS)


class CsvUnreadable(ValueError):
    """The file is not a CSV we can read; the message says why, for the person uploading."""


def _encoding(sample: bytes, *, complete: bool) -> str:
    """A BOM decides (UTF-8, UTF-16, UTF-32); else UTF-8 if it is valid; else NUL-heavy bytes
    are taken as BOM-less UTF-16; else Windows-1252, then Latin-1 (which reads anything)."""
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if sample.startswith(bom):
            return encoding
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=complete)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    if sample.count(b"\x00") > len(sample) // 4:
        odd_nuls = sample[1::2].count(b"\x00")
        return "utf-16-le" if odd_nuls > sample[::2].count(b"\x00") else "utf-16-be"
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def csv_decode(content: bytes, *, partial: bool = False) -> str:
    """The file's text; `partial`: content is only the start of the file (a cut character at
    the end is dropped)."""
    encoding = _encoding(content, complete=not partial)
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    return decoder.decode(content, final=not partial)


def csv_delimiter(text: str) -> str:
    """The delimiter used most in the header line (a single-column file gets a comma)."""
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


@dataclass
class CsvFile:
    header: list[str]
    delimiter: str
    text: str

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(line number where the row starts, cells) for every non-blank data row; the
        header is line 1."""
        reader = csv.reader(io.StringIO(self.text, newline=""), delimiter=self.delimiter)
        next(reader, None)
        line = reader.line_num + 1
        try:
            for cells in reader:
                start, line = line, reader.line_num + 1
                if any(cell.strip() for cell in cells):
                    yield start, cells
        except csv.Error as error:
            raise CsvUnreadable(f"Line {line}: not valid CSV ({error}).") from error

    def row_count(self) -> int:
        return sum(1 for _ in self.rows())


def csv_open(content: bytes, *, partial: bool = False) -> CsvFile:
    """The file's header, delimiter and text; raises CsvUnreadable with a reason."""
    text = csv_decode(content, partial=partial).replace("\x00", "")
    if not text.strip():
        raise CsvUnreadable("The file is empty.")
    delimiter = csv_delimiter(text)
    try:
        header = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as error:
        raise CsvUnreadable(f"The header line is not valid CSV: {error}.") from error
    header = [name.strip() or f"column {n}" for n, name in enumerate(header, start=1)]
    return CsvFile(header=header, delimiter=delimiter, text=text)


def csv_header(content: bytes) -> list[str]:
    """The header columns from the start of the file (at least its first SAMPLE_BYTES)."""
    return csv_open(content[:SAMPLE_BYTES], partial=True).header


def _spelling(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def mapping_guess(header: list[str]) -> dict:
    """Our field -> the column that most likely holds it (None when no column does)."""
    guess: dict = dict.fromkeys(MAPPED_FIELDS)
    for name in header:
        for field, spellings in FIELD_SPELLINGS.items():
            if guess[field] is None and _spelling(name) in spellings:
                guess[field] = name
    if guess["email"] is None:
        guess["email"] = next((n for n in header if "mail" in _spelling(n)), None)
    return {**guess, "ignore": []}
