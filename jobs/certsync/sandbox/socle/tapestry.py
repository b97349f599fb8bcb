"""Tapestry forms: the signed `t:formdata` listing the rendered controls, `t:ac`, and the
reading of a submission, as `apache/tapestry-5` 5.8.2 `Form` (`executeStoredActions`) and its
default null field strategy do."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json

from certsync.sandbox.forms import parse_pairs
from certsync.sandbox.server import Request, Response
from certsync.sandbox.socle.layout import FORMDATA_ERROR, TAMPERED, Control, error_page


def formdata(secret: bytes, page: str, controls: list[Control]) -> str:
    """The controls a page rendered, signed so that a submission cannot name others."""
    payload = json.dumps(
        {"page": page, "controls": [[c.name, c.kind, c.required] for c in controls]}
    ).encode()
    mac = hmac.new(secret, payload, hashlib.sha256).hexdigest()
    return f"{mac}:{base64.b64encode(payload).decode()}"


def form_open(
    secret: bytes, form_id: str, action: str, page: str, controls: list[Control], context: str
) -> str:
    """A Tapestry form's opening: hidden `t:ac` (activation context) and signed `t:formdata`."""
    hidden = ""
    if context:
        hidden += f'<input type="hidden" name="t:ac" value="{html.escape(context)}">'
    hidden += (
        f'<input type="hidden" name="t:formdata" '
        f'value="{html.escape(formdata(secret, page, controls), quote=True)}">'
    )
    return (
        f'<form id="{form_id}" method="post" action="{action}" '
        f'data-generator="tapestry/core/form"><div>{hidden}</div>'
    )


def _controls(secret: bytes, pairs: list[tuple[str, str]], page: str) -> list[Control] | Response:
    """The controls t:formdata lists, or the exception report when missing or tampered."""
    values = [v for n, v in pairs if n == "t:formdata"]
    if not values:
        return error_page(FORMDATA_ERROR)
    mac, _, encoded = values[0].partition(":")
    try:
        payload = base64.b64decode(encoded, validate=True)
    except ValueError:
        return error_page(TAMPERED)
    expected = hmac.new(secret, payload, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(mac, expected):
        return error_page(TAMPERED)
    data = json.loads(payload)
    if data["page"] != page:
        return error_page(TAMPERED)
    return [Control(n, k, r) for n, k, r in data["controls"]]


def submitted(
    secret: bytes, request: Request, page: str
) -> tuple[dict[str, str | None], list[Control]] | Response:
    """Form.executeStoredActions: refuse without t:formdata; each control reads its name."""
    pairs = parse_pairs(request)
    controls = _controls(secret, pairs, page)
    if isinstance(controls, Response):
        return controls
    posted: dict[str, str] = {}
    for name, value in pairs:
        posted.setdefault(name, value)
    out: dict[str, str | None] = {}
    for control in controls:
        raw = posted.get(control.name)
        if control.kind == "checkbox":
            out[control.name] = "true" if raw is not None else "false"
        elif control.kind == "submit":
            out[control.name] = raw
        else:
            # Tapestry's default null strategy: a blank or absent value becomes null.
            out[control.name] = raw if raw else None
    return out, controls
