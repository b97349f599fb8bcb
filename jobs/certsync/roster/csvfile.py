"""Reading a CSV roster: encoding check, separator detection and rows with their line numbers."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterator
from typing import IO

from certsync.config import Limits
from certsync.errors import InputError
from certsync.roster.table import Row, Table

_ENCODING_HINT = (
    "Dans Excel, utilisez « Enregistrer sous » puis « CSV UTF-8 (délimité par des virgules) » "
    "ou « CSV (séparateur : point-virgule) », ou enregistrez le classeur en .xlsx."
)
# C0 controls other than tab, CR and LF never occur in a text roster: seeing them after a
# "successful" decode means a binary file or UTF-16 without a byte-order mark.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# UTF-8 sequences of common French letters and punctuation (é, à, œ, ’, €…): found in a file
# that is not valid UTF-8, they show a mix of encodings that cp1252 would turn into "Ã©".
_UTF8_IN_CP1252 = re.compile(rb"[\xc2\xc3\xc5][\x80-\xbf]|\xe2[\x80\x82][\x80-\xbf]")
SEPARATORS = (";", ",", "\t")
_SEPARATOR_NAMES = {";": "point-virgule", ",": "virgule", "\t": "tabulation"}
# Records parsed to choose the separator; the header is within the first few.
_SNIFF_RECORDS = 40


def decode(data: bytes, name: str, what: str = "La liste des agents") -> tuple[str, str]:
    """A CSV's text and the encoding used: UTF-8 (with or without BOM) or cp1252 only.

    `what` names the file in messages ("La liste des agents", "Le fichier de décisions").
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputError(
            f"{what} « {name} » est en UTF-16 (Texte Unicode) ; "
            "certsync lit l'UTF-8 et le Windows-1252.",
            hint=_ENCODING_HINT,
        )
    try:
        text = data.decode("utf-8-sig")
        encoding = "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
    except UnicodeDecodeError as utf8_error:
        if _UTF8_IN_CP1252.search(data):
            raise InputError(
                f"{what} « {name} » mélange deux encodages (UTF-8 et Windows-1252) : "
                f"octet {data[utf8_error.start]:#04x} "
                f"à la ligne {_line_of(data, utf8_error.start)}.",
                hint=_ENCODING_HINT,
            ) from None
        try:
            # Python's cp1252 codec already refuses the five undefined bytes (0x81, 0x8D, 0x8F,
            # 0x90, 0x9D), which is what separates it from latin-1; latin-1 is never tried
            # because it decodes anything, silently.
            text = data.decode("cp1252")
            encoding = "cp1252"
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{what} « {name} » n'est ni en UTF-8 ni en Windows-1252 : "
                f"octet {data[exc.start]:#04x} illisible à la ligne {_line_of(data, exc.start)}.",
                hint=_ENCODING_HINT,
            ) from None
    control = _CONTROL.search(text)
    if control is not None:
        line = text.count("\n", 0, control.start()) + 1
        raise InputError(
            f"{what} « {name} » n'est pas un fichier texte lisible "
            f"(caractère de contrôle {ord(control.group()):#04x} à la ligne {line} ; "
            "fichier binaire ou encodé en UTF-16).",
            hint=_ENCODING_HINT,
        )
    return text, encoding


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def rows(text: str | IO[str], separator: str, max_cells: int = 0) -> Iterator[Row]:
    """Records with the line each one starts on, as a text editor numbers lines.

    `max_cells` (when set) stops the reading with an InputError once the fields read exceed
    it, before they fill the memory.
    """
    stream = io.StringIO(text, newline="") if isinstance(text, str) else text
    reader = csv.reader(stream, delimiter=separator)
    start = 1
    cells = 0
    try:
        for record in reader:
            cells += len(record)
            if max_cells and cells > max_cells:
                raise InputError(
                    f"La liste des agents est refusée : plus de {_n(max_cells)} champs à la "
                    f"ligne {start} ; certsync lit au plus {_n(max_cells)} cellules.",
                    hint="Vérifiez le séparateur et le fichier ; pour une liste réellement plus "
                    "grande, découpez-la ou augmentez [limits] max_roster_cells.",
                )
            yield Row(start, record)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(
            f"La liste des agents n'a pas pu être lue à partir de la ligne {start} ({exc}).",
            hint="Vérifiez les guillemets de cette ligne : un guillemet ouvert doit être refermé.",
        ) from None


def _n(number: int) -> str:
    return f"{number:,}".replace(",", "\u202f")


def _lines_cap(data: bytes, name: str, limits: Limits) -> None:
    """Refuse a file with too many lines before decoding it (counting costs no memory)."""
    lines = data.count(b"\n") + (not data.endswith(b"\n"))
    if lines > limits.max_roster_rows:
        raise InputError(
            f"La liste des agents « {name} » est refusée : {_n(lines)} lignes ; certsync lit "
            f"au plus {_n(limits.max_roster_rows)} lignes.",
            hint="Découpez la liste, ou augmentez [limits] max_roster_rows.",
        )


def _stream(data: bytes, encoding: str) -> IO[str]:
    """The text read lazily from the bytes: the whole file is never held twice as text."""
    return io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")


def read_csv(
    data: bytes,
    name: str,
    score: Callable[[list[Row]], tuple[int, int]],
    limits: Limits | None = None,
) -> Table:
    """Decode and split the roster, choosing the separator whose header scores best."""
    limits = limits or Limits()
    _lines_cap(data, name, limits)
    text, encoding = decode(data, name)
    del text  # decoding checked the whole file; the records are read from the bytes again
    best: tuple[tuple[int, int], str] | None = None
    for separator in SEPARATORS:
        head: list[Row] = []
        try:
            for row in rows(_stream(data, encoding), separator):
                head.append(row)
                if len(head) >= _SNIFF_RECORDS:
                    break
        except InputError:
            continue  # a quote that only breaks with this separator: not the right one
        candidate = (score(head), separator)
        # Ties keep the earlier separator, in the order ; , tab (Excel's French default first).
        if best is None or candidate[0] > best[0]:
            best = candidate
    separator = best[1] if best is not None else ";"
    records = list(rows(_stream(data, encoding), separator, limits.max_roster_cells))
    return Table(
        rows=records,
        detected={
            "format": "csv",
            "encoding": encoding,
            "separator": _SEPARATOR_NAMES[separator],
        },
    )
