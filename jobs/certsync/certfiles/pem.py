"""Text handling for certificate files: encodings, PEM blocks, headerless base64, PEM output."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

_BEGIN = b"-----BEGIN "
# Labels are matched on bytes so that UTF-8 files are never decoded. The END line is found with
# bytes.find, not a lazy `.*?` with a backreference: that regex is quadratic on a file full of
# unterminated BEGIN lines (15 s for 200 KB).
_BEGIN_LINE = re.compile(rb"-----BEGIN ([ -,.-~]{1,64})-----")
#: BEGIN lines looked at per file; real files hold a handful (a chain), hostile ones thousands.
MAX_BLOCKS = 64
_BASE64_ONLY = re.compile(rb"[A-Za-z0-9+/=\s]+")
_WHITESPACE = b" \t\r\n\v\f"
_UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class Block:
    """One PEM block: its label and decoded body, or an error if the body is not base64."""

    label: str
    """Label between BEGIN and the dashes, upper-cased (`CERTIFICATE`, `PKCS7`, …)."""
    der: bytes
    """Decoded body (empty when undecodable)."""
    encrypted: bool
    """RFC 1421 headers say the body is encrypted (`Proc-Type: 4,ENCRYPTED`)."""
    valid: bool
    """The body was well-formed base64."""


def to_text(data: bytes) -> tuple[bytes, str]:
    """Bytes as ASCII-compatible text, and the encoding note (`utf-16le`, `utf-8-bom`, or "").

    UTF-16 (with or without BOM, as Notepad saves it) is re-encoded to UTF-8 so that one byte
    scanner serves every file; undecodable UTF-16 raises UnicodeDecodeError.
    """
    if data.startswith(_UTF8_BOM):
        return data[3:], "utf-8-bom"
    if data[:2] == b"\xff\xfe":
        return data[2:].decode("utf-16-le").encode(), "utf-16le"
    if data[:2] == b"\xfe\xff":
        return data[2:].decode("utf-16-be").encode(), "utf-16be"
    if len(data) >= 4 and data[1] == 0 and data[3] == 0 and data[0] != 0 and data[2] != 0:
        return data.decode("utf-16-le").encode(), "utf-16le"
    if len(data) >= 4 and data[0] == 0 and data[2] == 0 and data[1] != 0 and data[3] != 0:
        return data.decode("utf-16-be").encode(), "utf-16be"
    return data, ""


def has_pem(text: bytes) -> bool:
    """Whether the text holds something that starts like a PEM block."""
    return _BEGIN in text


def blocks(text: bytes) -> list[Block]:
    """Every complete PEM block in the text, in order."""
    found: list[Block] = []
    cursor = 0
    for _ in range(MAX_BLOCKS):
        match = _BEGIN_LINE.search(text, cursor)
        if match is None:
            break
        end_line = b"-----END " + match.group(1) + b"-----"
        stop = text.find(end_line, match.end())
        if stop < 0:
            cursor = match.end()  # unterminated: RFC 7468 wants the same label on both lines
            continue
        cursor = stop + len(end_line)
        label = match.group(1).decode("ascii").strip().upper()
        body = text[match.end() : stop]
        encrypted = False
        if b":" in body:
            # RFC 1421 headers (Proc-Type, DEK-Info) precede the base64; drop those lines.
            lines = body.splitlines()
            encrypted = any(b"ENCRYPTED" in line.upper() for line in lines if b":" in line)
            body = b"".join(line for line in lines if b":" not in line)
        try:
            der = base64.b64decode(body.translate(None, _WHITESPACE), validate=True)
        except (binascii.Error, ValueError):
            found.append(Block(label, b"", encrypted, valid=False))
            continue
        found.append(Block(label, der, encrypted, valid=bool(der)))
    return found


def headerless(text: bytes) -> bytes | None:
    """Decoded bytes when the whole text is base64 (headerless `.cer`/`.p7b`), else None."""
    if _BASE64_ONLY.fullmatch(text) is None:
        return None
    compact = text.translate(None, _WHITESPACE)
    if len(compact) < 16:
        return None
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None


def to_pem(der: bytes) -> str:
    """The certificate as the socle's form wants it: 64-column PEM without a final newline."""
    encoded = base64.b64encode(der).decode("ascii")
    lines = "\n".join(encoded[i : i + 64] for i in range(0, len(encoded), 64))
    return f"-----BEGIN CERTIFICATE-----\n{lines}\n-----END CERTIFICATE-----"
