"""Request bodies as PHP and Tapestry see them: urlencoded and multipart/form-data."""

from __future__ import annotations

import email.parser
import email.policy
import urllib.parse
from dataclasses import dataclass, field

from certsync.sandbox.server import Request


@dataclass(slots=True)
class FormData:
    """Fields (`$_POST`) and uploaded files (`$_FILES`), by name."""

    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> str:
        """A field's value, or `default`."""
        return self.fields.get(name, default)


def parse_form(request: Request, *, charset: str = "utf-8") -> FormData:
    """Decode the body; PHP keeps the last value of a repeated name, and so do we."""
    ctype = request.headers.get("content-type", "")
    data = FormData()
    if ctype.startswith("multipart/form-data"):
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + ctype.encode("latin-1") + b"\r\n\r\n" + request.body
        )
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str):
                continue
            payload = part.get_payload(decode=True)
            raw = payload if isinstance(payload, bytes) else b""
            if part.get_filename() is not None:
                # An empty file input still arrives as a part; PHP reports UPLOAD_ERR_NO_FILE.
                if raw:
                    data.files[name] = raw
            else:
                data.fields[name] = raw.decode(charset, errors="replace")
    else:
        text = request.body.decode(charset, errors="replace")
        for name, value in urllib.parse.parse_qsl(text, keep_blank_values=True):
            data.fields[name] = value
    return data


def parse_pairs(request: Request) -> list[tuple[str, str]]:
    """The body's fields as ordered pairs (Tapestry reads every value).

    A multipart body (a form with an Upload) gives its non-file parts, as Tapestry's
    MultipartDecoder makes them request parameters; files are read with `parse_form`.
    """
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        return _multipart_fields(request)
    return urllib.parse.parse_qsl(
        request.body.decode("utf-8", errors="replace"), keep_blank_values=True
    )


def _multipart_fields(request: Request) -> list[tuple[str, str]]:
    ctype = request.headers.get("content-type", "")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + ctype.encode("latin-1") + b"\r\n\r\n" + request.body
    )
    pairs = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str) and part.get_filename() is None:
            payload = part.get_payload(decode=True)
            raw = payload if isinstance(payload, bytes) else b""
            pairs.append((name, raw.decode("utf-8", errors="replace")))
    return pairs
