"""Tests for certsync.validate: one test per rule, on generated RGS-shaped certificates."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from certsync.certfiles.parse import cert_info
from certsync.config import Policy
from certsync.findings import Code, Finding, Severity
from certsync.records import Agent, CertInfo
from certsync.testkit.pki import (
    EPOCH,
    TEST_POLICY_OID,
    Issued,
    SamplePKI,
    agent_subject,
    ec_key,
    make_intermediate,
    make_leaf,
    make_root,
    rsa_key,
)
from certsync.trust import TrustStore
from certsync.validate import Validator, provable_intermediates, untrusted_reason

SIRET = "21350238800019"
SUBJECT = agent_subject("Jeanne", "Le Goff", siret=SIRET, org="Commune de Rennes")


def info_of(cert: x509.Certificate) -> CertInfo:
    """The CertInfo the pipeline would build for `cert` (certsync.certfiles)."""
    return cert_info(cert.public_bytes(serialization.Encoding.DER))


def _tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    length = bytes([n]) if n < 128 else bytes([0x80 | ((n.bit_length() + 7) // 8)])
    if n >= 128:
        length += n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag]) + length + body


_SHA256_RSA = bytes.fromhex("06092a864886f70d01010b")


def resign_weak(leaf: Issued, issuer: Issued, algorithm: hashes.HashAlgorithm) -> x509.Certificate:
    """`leaf` re-signed by `issuer` (RSA) with SHA-1 or MD5, which CertificateBuilder refuses.

    The sha256WithRSA OID in the TBS is swapped for sha1/md5WithRSA (same length), the TBS is
    signed with the weak hash, and the certificate is reassembled by hand.
    """
    last = {"sha1": 5, "md5": 4}[algorithm.name]
    weak_oid = _SHA256_RSA[:-1] + bytes([last])
    tbs = leaf.cert.tbs_certificate_bytes
    assert tbs.count(_SHA256_RSA) == 1
    tbs = tbs.replace(_SHA256_RSA, weak_oid)
    assert isinstance(issuer.key, rsa.RSAPrivateKey)
    signature = issuer.key.sign(tbs, padding.PKCS1v15(), algorithm)
    der = _tlv(0x30, tbs + _tlv(0x30, weak_oid + b"\x05\x00") + _tlv(0x03, b"\x00" + signature))
    return x509.load_der_x509_certificate(der)


def trust_of(*certs: Issued) -> TrustStore:
    anchors = tuple(i.cert for i in certs if i.cert.subject == i.cert.issuer)
    others = tuple(i.cert for i in certs if i.cert.subject != i.cert.issuer)
    return TrustStore(anchors, others, Path("trust.pem"))


@pytest.fixture(scope="module")
def trust(pki: SamplePKI) -> TrustStore:
    return trust_of(pki.chambersign_root, pki.chambersign_ca, pki.certigna_root, pki.certigna_ca)


@pytest.fixture(scope="module")
def validator(trust: TrustStore) -> Validator:
    return Validator(trust, Policy(), EPOCH)


def codes(findings: tuple[Finding, ...]) -> list[Code]:
    return [f.code for f in findings]


def leaf(pki: SamplePKI, **knobs: object) -> x509.Certificate:
    return make_leaf(pki.chambersign_ca, SUBJECT, **knobs).cert  # type: ignore[arg-type]


# --- chains that hold ---------------------------------------------------------------------------


def test_valid_rsa_chain_has_no_finding(pki: SamplePKI, validator: Validator) -> None:
    assert validator.check(info_of(leaf(pki, san_email="jeanne@rennes.fr"))) == ()


def test_valid_ec_certigna_chain_has_no_finding(pki: SamplePKI, validator: Validator) -> None:
    cert = make_leaf(pki.certigna_ca, SUBJECT, key=ec_key("secp256r1", slot=5)).cert
    assert validator.check(info_of(cert)) == ()


def test_leaf_without_san_is_accepted(pki: SamplePKI, validator: Validator) -> None:
    cert = leaf(pki)
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert validator.check(info_of(cert)) == ()


def test_intermediate_from_the_file_completes_the_chain(pki: SamplePKI) -> None:
    roots_only = Validator(trust_of(pki.chambersign_root, pki.certigna_root), Policy(), EPOCH)
    info = info_of(leaf(pki))
    [untrusted] = roots_only.check(info)
    assert untrusted.code is Code.CERT_UNTRUSTED
    assert roots_only.check(info, (info_of(pki.chambersign_ca.cert),)) == ()


# --- dates --------------------------------------------------------------------------------------


def test_expired_is_reported_alone(pki: SamplePKI, validator: Validator) -> None:
    cert = leaf(pki, not_before=EPOCH - dt.timedelta(days=400), days=365)
    [found] = validator.check(info_of(cert))
    assert found.code is Code.CERT_EXPIRED
    assert found.params["not_after"] == f"{cert.not_valid_after_utc:%d/%m/%Y}"
    assert found.blocking


def test_not_yet_valid_is_reported_alone(pki: SamplePKI, validator: Validator) -> None:
    start = EPOCH + dt.timedelta(days=2)
    [found] = validator.check(info_of(leaf(pki, not_before=start)))
    assert found.code is Code.CERT_NOT_YET_VALID
    assert found.params == {"not_before": f"{start:%d/%m/%Y}"}
    assert found.blocking


@pytest.mark.parametrize(
    ("left", "warned"),
    [
        (dt.timedelta(days=30, hours=23), True),
        (dt.timedelta(days=31), False),
        (dt.timedelta(hours=5), True),
    ],
    ids=["30-days", "31-days", "hours"],
)
def test_expires_soon_boundary(
    pki: SamplePKI, trust: TrustStore, left: dt.timedelta, warned: bool
) -> None:
    cert = leaf(pki)
    as_of = cert.not_valid_after_utc - left
    found = Validator(trust, Policy(expires_soon_days=30), as_of).check(info_of(cert))
    if not warned:
        assert found == ()
        return
    [soon] = found
    assert soon.code is Code.CERT_EXPIRES_SOON
    days = left.days
    when = "aujourd'hui" if days <= 0 else "demain" if days == 1 else f"dans {days} jours"
    assert soon.params == {
        "not_after": f"{cert.not_valid_after_utc:%d/%m/%Y}",
        "days": days,
        "when": when,
    }
    assert "dans 0 jours" not in soon.message()
    assert soon.severity is Severity.WARNING


def test_expired_with_unknown_issuer_reports_both(pki: SamplePKI) -> None:
    other = make_root("Autre Racine", "Ailleurs", key=rsa_key(2048, slot=31))
    cert = leaf(pki, not_before=EPOCH - dt.timedelta(days=400), days=365)
    found = Validator(trust_of(other), Policy(), EPOCH).check(info_of(cert))
    assert codes(found) == [Code.CERT_EXPIRED, Code.CERT_UNTRUSTED]


# --- chain of trust -----------------------------------------------------------------------------


def test_other_root_is_untrusted_with_french_reason(pki: SamplePKI) -> None:
    other = make_root("Autre Racine", "Ailleurs", key=rsa_key(2048, slot=31))
    [found] = Validator(trust_of(other), Policy(), EPOCH).check(info_of(leaf(pki)))
    assert found.code is Code.CERT_UNTRUSTED
    assert found.params == {
        "reason": "autorité émettrice inconnue (« ChamberSign France CA3 NG RGS »)"
    }


def test_forged_issuer_with_same_name_is_untrusted(pki: SamplePKI, validator: Validator) -> None:
    impostor = make_intermediate(pki.chambersign_root, key=rsa_key(2048, slot=32))
    fake = Issued(impostor.cert, rsa_key(2048, slot=33))  # same name, different key
    cert = make_leaf(fake, SUBJECT).cert
    [found] = validator.check(info_of(cert))
    assert found.code is Code.CERT_UNTRUSTED
    assert "la signature ne correspond pas" in str(found.params["reason"])


def test_expired_intermediate_is_untrusted(pki: SamplePKI) -> None:
    old_ca = make_intermediate(
        pki.chambersign_root,
        "Ancienne AC",
        not_before=dt.datetime(2015, 1, 1, tzinfo=dt.UTC),
        not_after=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
    )
    cert = make_leaf(old_ca, SUBJECT).cert
    validator = Validator(trust_of(pki.chambersign_root, old_ca), Policy(), EPOCH)
    [found] = validator.check(info_of(cert))
    assert found.code is Code.CERT_UNTRUSTED
    assert found.params["reason"] == (
        "un certificat d'autorité de la chaîne est expiré ou pas encore valide"
    )


def test_no_trust_store_is_blocking(pki: SamplePKI) -> None:
    [found] = Validator(None, Policy(), EPOCH).check(info_of(leaf(pki)))
    assert found.code is Code.CERT_CHAIN_UNCHECKED
    assert found.blocking


def test_no_trust_store_with_skip_chain_check_is_a_warning(pki: SamplePKI) -> None:
    [found] = Validator(None, Policy(skip_chain_check=True), EPOCH).check(info_of(leaf(pki)))
    assert found.code is Code.CERT_CHAIN_UNCHECKED
    assert found.severity is Severity.WARNING
    assert not found.blocking


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "validation failed: candidates exhausted: chain construction exceeds max depth",
            "trop longue",
        ),
        ("validation failed: candidates exhausted: RSA key is too weak", "clé trop faible"),
        (
            "validation failed: candidates exhausted: Forbidden public key algorithm: X",
            "type de clé refusé",
        ),
        (
            "validation failed: invalid extension: 2.5.29.19: bad (encountered processing "
            "<Certificate(subject=<Name(CN=x)>, ...)>)",
            "certificat d'autorité non conforme dans la chaîne (invalid extension: 2.5.29.19: bad)",
        ),
        ("validation failed: something new", "vérification de la chaîne refusée (something new)"),
    ],
)
def test_verifier_messages_are_translated(message: str, expected: str) -> None:
    assert expected in untrusted_reason(message, "AC")


# --- key and signature --------------------------------------------------------------------------


def test_rsa_1024_leaf_is_weak_key_only(pki: SamplePKI, validator: Validator) -> None:
    [found] = validator.check(info_of(leaf(pki, key=rsa_key(1024))))
    assert found.code is Code.CERT_WEAK_KEY
    assert found.params == {"key": "RSA 1024 bits", "minimum": "RSA 2048 bits, EC 256 bits"}


def test_ec_p192_leaf_is_weak_key_only(pki: SamplePKI, validator: Validator) -> None:
    cert = make_leaf(pki.certigna_ca, SUBJECT, key=ec_key("secp192r1")).cert
    [found] = validator.check(info_of(cert))
    assert found.code is Code.CERT_WEAK_KEY
    assert found.params == {
        "key": "EC secp192r1 (192 bits)",
        "minimum": "RSA 2048 bits, EC 256 bits",
    }


def test_dsa_leaf_is_weak_key(pki: SamplePKI, validator: Validator) -> None:
    key = dsa.generate_private_key(2048)
    cert = make_leaf(pki.chambersign_ca, SUBJECT, key=key).cert  # type: ignore[arg-type]
    assert codes(validator.check(info_of(cert))) == [Code.CERT_WEAK_KEY]


def test_ed25519_leaf_is_not_flagged(pki: SamplePKI, validator: Validator) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    cert = make_leaf(pki.chambersign_ca, SUBJECT, key=key).cert  # type: ignore[arg-type]
    assert validator.check(info_of(cert)) == ()


@pytest.mark.parametrize(
    ("algorithm", "label"), [(hashes.SHA1(), "SHA-1 (RSA)"), (hashes.MD5(), "MD5 (RSA)")]
)
def test_weak_signature_is_reported_without_untrusted(
    pki: SamplePKI, validator: Validator, algorithm: hashes.HashAlgorithm, label: str
) -> None:
    with pytest.raises(UnsupportedAlgorithm):
        make_leaf(pki.chambersign_ca, SUBJECT, signature_hash=algorithm)
    cert = resign_weak(make_leaf(pki.chambersign_ca, SUBJECT), pki.chambersign_ca, algorithm)
    [found] = validator.check(info_of(cert))
    assert found.code is Code.CERT_WEAK_SIGNATURE
    assert found.params == {"algorithm": label}


def test_weak_signature_with_unknown_issuer_reports_both(pki: SamplePKI) -> None:
    other = make_root("Autre Racine", "Ailleurs", key=rsa_key(2048, slot=31))
    cert = resign_weak(make_leaf(pki.chambersign_ca, SUBJECT), pki.chambersign_ca, hashes.SHA1())
    found = Validator(trust_of(other), Policy(), EPOCH).check(info_of(cert))
    assert codes(found) == [Code.CERT_WEAK_SIGNATURE, Code.CERT_UNTRUSTED]


# --- the wrong certificate ----------------------------------------------------------------------


@pytest.mark.parametrize("which", ["intermediate", "root", "leaf-ca-true", "leaf-keycertsign"])
def test_ca_certificate_is_reported_alone(pki: SamplePKI, validator: Validator, which: str) -> None:
    cert = {
        "intermediate": lambda: pki.chambersign_ca.cert,
        "root": lambda: pki.certigna_root.cert,
        "leaf-ca-true": lambda: leaf(pki, ca=True),
        "leaf-keycertsign": lambda: leaf(pki, key_usage=("digital_signature", "key_cert_sign")),
    }[which]()
    [found] = validator.check(info_of(cert))
    assert found.code is Code.CERT_IS_CA
    assert found.params == {"cn": info_of(cert).common_name}


def test_key_usage_without_digital_signature(pki: SamplePKI, validator: Validator) -> None:
    [found] = validator.check(info_of(leaf(pki, key_usage=("content_commitment",))))
    assert found.code is Code.CERT_KEY_USAGE
    assert found.params == {
        "reason": "l'usage « signature numérique » (digitalSignature) est absent "
        "(usages : non-répudiation)"
    }


def test_eku_email_protection_only(pki: SamplePKI, validator: Validator) -> None:
    cert = leaf(pki, eku=(ExtendedKeyUsageOID.EMAIL_PROTECTION,))
    [found] = validator.check(info_of(cert))
    assert found.code is Code.CERT_KEY_USAGE
    assert "clientAuth" in str(found.params["reason"])
    assert "protection du courrier électronique" in str(found.params["reason"])
    relaxed = Validator(validator.trust, Policy(require_client_auth=False), EPOCH)
    assert relaxed.check(info_of(cert)) == ()


@pytest.mark.parametrize(
    "eku", [None, (ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,)], ids=["absent", "any"]
)
def test_eku_absent_or_any_is_accepted(
    pki: SamplePKI, validator: Validator, eku: tuple[x509.ObjectIdentifier, ...] | None
) -> None:
    assert validator.check(info_of(leaf(pki, eku=eku))) == ()


def test_no_key_usage_extension_is_accepted(pki: SamplePKI, validator: Validator) -> None:
    assert validator.check(info_of(leaf(pki, key_usage=()))) == ()


# --- policies -----------------------------------------------------------------------------------


def test_allowed_policies(pki: SamplePKI, trust: TrustStore) -> None:
    info = info_of(leaf(pki))
    ok = Validator(trust, Policy(allowed_policies=("1.2.3", TEST_POLICY_OID)), EPOCH)
    assert ok.check(info) == ()
    strict = Validator(trust, Policy(allowed_policies=("1.2.250.1.1",)), EPOCH)
    [found] = strict.check(info)
    assert found.code is Code.CERT_POLICY_NOT_ALLOWED
    assert found.params == {"policies": TEST_POLICY_OID}
    [none] = strict.check(info_of(leaf(pki, policies=())))
    assert none.params == {"policies": "aucune"}


# --- organisation -------------------------------------------------------------------------------


def _agent(siren: str = "", siret: str = "", organisation: str = "") -> Agent:
    return Agent(
        2, "a@b.fr", "Le Goff", "Jeanne", siren=siren, siret=siret, organisation=organisation
    )


def test_org_mismatch_is_a_warning(pki: SamplePKI, validator: Validator) -> None:
    info = info_of(leaf(pki))
    found = validator.check_organisation(info, _agent(siret="21290019700010", organisation="Brest"))
    assert found is not None
    assert found.code is Code.CERT_ORG_MISMATCH
    assert found.severity is Severity.WARNING
    assert found.params == {
        "cert_org": f"« Commune de Rennes » (SIRET {SIRET})",
        "roster_org": "« Brest » (SIRET 21290019700010)",
    }


def test_org_mismatch_blocking_policy(pki: SamplePKI, trust: TrustStore) -> None:
    strict = Validator(trust, Policy(org_mismatch_blocking=True), EPOCH)
    found = strict.check_organisation(info_of(leaf(pki)), _agent(siren="212900197"))
    assert found is not None
    assert found.blocking


def test_org_same_siret_or_same_siren(pki: SamplePKI, validator: Validator) -> None:
    info = info_of(leaf(pki))
    assert validator.check_organisation(info, _agent(siret=SIRET)) is None
    # Only a SIREN in the roster: compare on the first nine digits.
    assert validator.check_organisation(info, _agent(siren=SIRET[:9])) is None
    # Both SIRETs, same SIREN, other establishment: a mismatch.
    assert validator.check_organisation(info, _agent(siret=SIRET[:9] + "00027")) is not None


def test_org_siren_in_certificate_against_siret_in_roster(
    pki: SamplePKI, validator: Validator
) -> None:
    info = dataclasses.replace(info_of(leaf(pki)), org_ids=(SIRET[:9],))
    assert validator.check_organisation(info, _agent(siret=SIRET)) is None
    assert validator.check_organisation(info, _agent(siret="21290019700010")) is not None


def test_org_no_identifier_on_either_side(pki: SamplePKI, validator: Validator) -> None:
    info = info_of(leaf(pki))
    assert validator.check_organisation(info, _agent()) is None
    bare = info_of(make_leaf(pki.chambersign_ca, agent_subject("A", "B")).cert)
    assert validator.check_organisation(bare, _agent(siret=SIRET)) is None


def test_naive_as_of_is_refused(trust: TrustStore) -> None:
    with pytest.raises(ValueError, match="aware"):
        Validator(trust, Policy(), dt.datetime(2026, 1, 1))


def test_san_with_unsupported_name_type_is_judged_from_the_issuer(
    pki: SamplePKI, validator: Validator
) -> None:
    # A SAN holding an x400Address: cryptography cannot parse it and the verifier raises.
    ca = pki.chambersign_ca
    builder = (
        x509.CertificateBuilder()
        .subject_name(SUBJECT)
        .issuer_name(ca.cert.subject)
        .public_key(rsa_key().public_key())
        .serial_number(0x5A4)
        .not_valid_before(EPOCH - dt.timedelta(days=1))
        .not_valid_after(EPOCH + dt.timedelta(days=365))
        .add_extension(
            x509.UnrecognizedExtension(
                x509.ExtensionOID.SUBJECT_ALTERNATIVE_NAME, bytes.fromhex("3004a3023000")
            ),
            critical=False,
        )
    )
    cert = builder.sign(ca.key, hashes.SHA256())
    info = dataclasses.replace(
        info_of(make_leaf(ca, SUBJECT).cert), der=cert.public_bytes(serialization.Encoding.DER)
    )
    assert validator.check(info) == ()
    other = make_root("Autre Racine", "Ailleurs", key=rsa_key(2048, slot=31))
    [found] = Validator(trust_of(other), Policy(), EPOCH).check(info)
    assert found.code is Code.CERT_UNTRUSTED


# --- the shortcut through proven intermediates ---------------------------------------------------


def _shortcut_cases(pki: SamplePKI) -> dict[str, tuple[x509.Certificate, tuple[Issued, ...]]]:
    """Leaves (and the CA certificates of their file) that test every way out of the shortcut."""
    impostor = Issued(
        make_intermediate(pki.chambersign_root, key=rsa_key(2048, slot=32)).cert,
        rsa_key(2048, slot=33),
    )  # the trusted intermediate's name, another key: its leaves must stay untrusted
    rogue = make_intermediate(pki.chambersign_root, key=rsa_key(2048, slot=34))
    # same name, signed by the real root, but not in the trust store
    return {
        "rsa": (leaf(pki, san_email="jeanne@rennes.fr"), ()),
        "ec": (make_leaf(pki.certigna_ca, SUBJECT, key=ec_key("secp256r1", slot=5)).cert, ()),
        "expired": (leaf(pki, not_before=EPOCH - dt.timedelta(days=400), days=365), ()),
        "not-yet-valid": (leaf(pki, not_before=EPOCH + dt.timedelta(days=2)), ()),
        "weak-signature": (
            resign_weak(make_leaf(pki.chambersign_ca, SUBJECT), pki.chambersign_ca, hashes.SHA1()),
            (),
        ),
        "impostor-signed": (make_leaf(impostor, SUBJECT).cert, ()),
        "rogue-signed": (make_leaf(rogue, SUBJECT).cert, ()),
        "rogue-in-file": (make_leaf(rogue, SUBJECT).cert, (rogue,)),
        "chain-in-file": (leaf(pki), (pki.chambersign_ca,)),
        "intermediate-itself": (pki.certigna_ca.cert, ()),
        "root-itself": (pki.chambersign_root.cert, ()),
        "other-ca": (make_leaf(make_root("Autre Racine", "Ailleurs"), SUBJECT).cert, ()),
    }


def test_shortcut_gives_the_findings_and_issuer_of_a_full_verification(
    pki: SamplePKI, trust: TrustStore
) -> None:
    warm = Validator(trust, Policy(), EPOCH)
    cases = _shortcut_cases(pki)
    for name in ("rsa", "ec"):  # one full verification through each intermediate
        assert warm.check(info_of(cases[name][0])) == ()
    assert warm._proven == [pki.chambersign_ca.cert, pki.certigna_ca.cert]
    for name, (cert, chain) in cases.items():
        fresh = Validator(trust, Policy(), EPOCH)  # nothing proven: always the full verification
        info, chain_infos = info_of(cert), tuple(info_of(c.cert) for c in chain)
        assert warm.check(info, chain_infos) == fresh.check(info, chain_infos), name
        chain_certs = [c.cert for c in chain]
        assert warm._chain(cert, chain_certs, False) == fresh._chain(cert, chain_certs, False), name
    assert codes(warm.check(info_of(cases["impostor-signed"][0]))) == [Code.CERT_UNTRUSTED]
    assert codes(warm.check(info_of(cases["rogue-signed"][0]))) == [Code.CERT_UNTRUSTED]


def test_shortcut_returns_the_issuer_and_learns_only_store_intermediates(
    pki: SamplePKI, trust: TrustStore
) -> None:
    warm = Validator(trust, Policy(), EPOCH)
    cert = leaf(pki)
    assert warm._chain(cert, [], False) == (None, pki.chambersign_ca.cert)  # full, then learnt
    assert warm._through_proven(cert) == pki.chambersign_ca.cert
    roots_only = Validator(trust_of(pki.chambersign_root), Policy(), EPOCH)
    assert roots_only.check(info_of(cert), (info_of(pki.chambersign_ca.cert),)) == ()
    assert roots_only._proven == []  # an intermediate from a file is never taken as proven


def test_no_shortcut_when_an_intermediate_name_is_not_unique(pki: SamplePKI) -> None:
    renewed = make_intermediate(pki.chambersign_root, key=rsa_key(2048, slot=35))  # same name
    trust = trust_of(pki.chambersign_root, pki.chambersign_ca, renewed)
    assert provable_intermediates(trust) == ()
    validator = Validator(trust, Policy(), EPOCH)
    for issuer in (pki.chambersign_ca, renewed):
        cert = make_leaf(issuer, SUBJECT).cert
        assert validator.check(info_of(cert)) == ()
        assert validator._chain(cert, [], False) == (None, issuer.cert)
    assert validator._shortcut is None


def test_no_shortcut_when_the_store_has_name_constraints(pki: SamplePKI) -> None:
    # Name constraints above an intermediate apply to each leaf's names: nothing is leaf-free.
    root = pki.chambersign_root
    constraints = x509.NameConstraints([x509.RFC822Name("rennes.fr")], None)
    constrained = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "AC contrainte")]))
        .issuer_name(root.cert.subject)
        .public_key(rsa_key(2048, slot=36).public_key())
        .serial_number(0xC0)
        .not_valid_before(EPOCH - dt.timedelta(days=10))
        .not_valid_after(EPOCH + dt.timedelta(days=1000))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(constraints, critical=True)
        .sign(root.key, hashes.SHA256())
    )
    trust = TrustStore((root.cert,), (pki.chambersign_ca.cert, constrained), Path("trust.pem"))
    assert provable_intermediates(trust) == ()
    assert provable_intermediates(trust_of(root, pki.chambersign_ca)) == (pki.chambersign_ca.cert,)
