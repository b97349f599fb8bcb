"""Tests for certsync.trust: reading the accepted authorities from a PEM bundle."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from certsync.errors import ConfigError, ExitCode
from certsync.testkit.pki import SamplePKI, make_root, rsa_key
from certsync.trust import common_name, load_trust


def _write(tmp_path: Path, data: bytes, name: str = "trust.pem") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_self_signed_are_anchors_others_intermediates(pki: SamplePKI, tmp_path: Path) -> None:
    path = _write(tmp_path, pki.trust_pem())
    trust = load_trust(path)
    assert trust.anchors == (pki.chambersign_root.cert, pki.certigna_root.cert)
    assert trust.intermediates == (pki.chambersign_ca.cert, pki.certigna_ca.cert)
    assert trust.source == path


def test_describe_lists_each_anchor_with_expiry(pki: SamplePKI, tmp_path: Path) -> None:
    trust = load_trust(_write(tmp_path, pki.trust_pem()))
    assert trust.describe() == [
        "Autorité racine « ChamberSign France CA3 Root » (expire le 04/12/2038)",
        "Autorité racine « Certigna Root CA » (expire le 01/10/2033)",
        "2 autorités intermédiaires en plus",
    ]


def test_crlf_and_text_around_blocks_are_accepted(pki: SamplePKI, tmp_path: Path) -> None:
    data = b"Bundle exported by hand\r\n" + pki.chambersign_root.pem.replace(b"\n", b"\r\n")
    trust = load_trust(_write(tmp_path, data))
    assert len(trust.anchors) == 1
    assert trust.intermediates == ()


def test_self_issued_but_signed_by_another_key_is_not_an_anchor(
    pki: SamplePKI, tmp_path: Path
) -> None:
    # Same name as the root but signed with another key: a re-keyed root's cross-certificate.
    real = pki.chambersign_root.cert
    builder = (
        x509.CertificateBuilder()
        .subject_name(real.subject)
        .issuer_name(real.subject)
        .public_key(rsa_key(2048, slot=77).public_key())
        .serial_number(77)
        .not_valid_before(real.not_valid_before_utc)
        .not_valid_after(real.not_valid_after_utc)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    )
    cross = builder.sign(pki.chambersign_root.key, hashes.SHA256())
    data = pki.chambersign_root.pem + cross.public_bytes(serialization.Encoding.PEM)
    trust = load_trust(_write(tmp_path, data))
    assert trust.anchors == (real,)
    assert trust.intermediates == (cross,)


def test_missing_file_is_a_config_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "absent.pem"
    with pytest.raises(ConfigError) as caught:
        load_trust(path)
    assert str(path) in caught.value.message
    assert "illisible" in caught.value.message
    assert caught.value.exit_code is ExitCode.CONFIG


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not a certificate at all\n",
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    ],
    ids=["empty", "text", "other-pem"],
)
def test_file_without_certificate_is_a_config_error(tmp_path: Path, data: bytes) -> None:
    path = _write(tmp_path, data)
    with pytest.raises(ConfigError, match="sans certificat PEM") as caught:
        load_trust(path)
    assert str(path) in caught.value.message


def test_der_file_is_refused(pki: SamplePKI, tmp_path: Path) -> None:
    path = _write(tmp_path, pki.chambersign_root.der, "root.der")
    with pytest.raises(ConfigError, match="sans certificat PEM"):
        load_trust(path)


def test_corrupt_pem_block_is_a_config_error(tmp_path: Path) -> None:
    data = b"-----BEGIN CERTIFICATE-----\nMIIBbroken\n-----END CERTIFICATE-----\n"
    path = _write(tmp_path, data)
    with pytest.raises(ConfigError, match="invalide") as caught:
        load_trust(path)
    assert str(path) in caught.value.message


def test_bundle_without_root_is_a_config_error(pki: SamplePKI, tmp_path: Path) -> None:
    path = _write(tmp_path, pki.chambersign_ca.pem)
    with pytest.raises(ConfigError, match="sans autorité racine"):
        load_trust(path)


def test_common_name_falls_back_to_the_whole_name() -> None:
    root = make_root("Racine de test", "Org")
    assert common_name(root.cert.subject) == "Racine de test"
    no_cn = x509.Name([x509.NameAttribute(x509.NameOID.ORGANIZATION_NAME, "Sans CN")])
    assert common_name(no_cn) == "O=Sans CN"
