"""Hypothesis against the sniffer: arbitrary bytes and damaged certificates never raise."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certsync.certfiles import der as der_module
from certsync.certfiles.parse import cert_info
from certsync.certfiles.sniff import Sniffed, sniff
from certsync.findings import Code
from certsync.records import FileFormat
from certsync.testkit.pki import sample_pki
from tests.certfiles.zoo import leaf

_AGENT = leaf(sample_pki())
SEEDS = [
    _AGENT.der,
    _AGENT.pem,
    _AGENT.pem.replace(b"\n", b"\r\n"),
    _AGENT.pem.decode().encode("utf-16"),
]


def _well_formed(result: Sniffed) -> None:
    assert isinstance(result, Sniffed)
    if result.private_key:
        assert result.format in (FileFormat.PKCS12, FileFormat.PRIVATE_KEY)
        assert result.ders == () and result.error is None
    elif result.error is not None:
        code, reason = result.error
        assert code in (Code.FILE_UNREADABLE, Code.FILE_NOT_A_CERTIFICATE)
        assert isinstance(reason, str) and reason
        assert result.ders == ()
    else:
        assert result.ders
    for der in result.ders:
        assert der[0] == der_module.SEQUENCE
        assert der_module.element_length(der) == len(der)
        try:
            cert_info(der)
        except ValueError as exc:
            assert str(exc)


@given(st.binary(max_size=4096))
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_arbitrary_bytes(data: bytes) -> None:
    _well_formed(sniff(data))


@given(st.binary(max_size=64).map(lambda tail: b"\x30\x82" + tail))
def test_der_like_headers(data: bytes) -> None:
    _well_formed(sniff(data))


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        position = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        if action == "flip":
            data[position] ^= draw(st.integers(1, 255))
        elif action == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif action == "delete":
            del data[position : position + draw(st.integers(1, 8))]
        else:
            del data[position:]
        if not data:
            break
    return bytes(data)


@given(mutated())
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_damaged_certificates(data: bytes) -> None:
    _well_formed(sniff(data))
