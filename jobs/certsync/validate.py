"""Checks on an agent's certificate: dates, chain, key, signature, usages, policy, revocation."""

from __future__ import annotations

import re
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa
from cryptography.x509.verification import (
    ClientVerifier,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from certsync.config import Policy
from certsync.findings import Code, Finding, Severity, any_blocking, finding
from certsync.records import Agent, CertInfo
from certsync.revocation import RevocationChecker
from certsync.trust import TrustStore, common_name

CLIENT_AUTH = "1.3.6.1.5.5.7.3.2"
ANY_EKU = "2.5.29.37.0"

#: Signature algorithms refused whatever the chain (RFC 6194, ANSSI RGS B1), by OID.
WEAK_SIGNATURES: dict[str, str] = {
    "1.2.840.113549.1.1.2": "MD2 (RSA)",
    "1.2.840.113549.1.1.3": "MD4 (RSA)",
    "1.2.840.113549.1.1.4": "MD5 (RSA)",
    "1.2.840.113549.1.1.5": "SHA-1 (RSA)",
    "1.3.14.3.2.29": "SHA-1 (RSA)",
    "1.2.840.10045.4.1": "SHA-1 (ECDSA)",
    "1.2.840.10040.4.3": "SHA-1 (DSA)",
    "1.3.14.3.2.27": "SHA-1 (DSA)",
}

_KEY_USAGE_FR = {
    "digital_signature": "signature numérique",
    "content_commitment": "non-répudiation",
    "key_encipherment": "chiffrement de clé",
    "data_encipherment": "chiffrement de données",
    "key_agreement": "accord de clé",
    "key_cert_sign": "signature de certificats",
    "crl_sign": "signature de CRL",
    "encipher_only": "chiffrement seul",
    "decipher_only": "déchiffrement seul",
}
_EKU_FR = {
    CLIENT_AUTH: "authentification client",
    "1.3.6.1.5.5.7.3.1": "authentification serveur",
    "1.3.6.1.5.5.7.3.3": "signature de code",
    "1.3.6.1.5.5.7.3.4": "protection du courrier électronique",
    "1.3.6.1.5.5.7.3.8": "horodatage",
    "1.3.6.1.5.5.7.3.9": "réponse OCSP",
    "1.3.6.1.4.1.311.20.2.2": "ouverture de session par carte à puce",
    "1.3.6.1.4.1.311.10.3.12": "signature de documents",
}

_ENCOUNTERED = re.compile(r"\s*\(encountered processing <Certificate\(.*\)>\)\s*$", re.DOTALL)


def _date(when: datetime) -> str:
    return f"{when:%d/%m/%Y}"


def build_verifier(trust: TrustStore, as_of: datetime) -> ClientVerifier:
    """A client verifier for RGS personal certificates; expensive-ish, so build it once per run.

    The end-entity extension policy is `permit_all`: real RGS certificates carry no SAN (the
    webpki default requires one), and the leaf's profile (basicConstraints, keyUsage, EKU,
    key type and size) is checked by `Validator` itself so that each problem surfaces under its
    own finding code instead of a generic "untrusted". The verifier still checks, for the leaf,
    its validity period and its signature algorithm, and for every CA above it the full webpki
    CA profile (basicConstraints, keyUsage keyCertSign, path length, key size, algorithms).
    """
    return _verifier_over(list(trust.anchors), as_of)


def _verifier_over(store: list[x509.Certificate], as_of: datetime) -> ClientVerifier:
    return (
        PolicyBuilder()
        .store(Store(store))
        .time(as_of)
        .extension_policies(
            ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ExtensionPolicy.permit_all()
        )
        .build_client_verifier()
    )


def provable_intermediates(trust: TrustStore) -> tuple[x509.Certificate, ...]:
    """The trust store's intermediates whose verified path upwards may be reused across leaves.

    Chain building tries, for a certificate, every store or intermediate certificate whose
    subject equals its issuer name. When an intermediate's subject is unique in the store,
    a leaf naming it as issuer has that one candidate, so the search above it does not depend
    on the leaf, except through name constraints, which apply to the leaf's names: a store
    with any nameConstraints extension gets no shortcut at all. (The verifier matches names
    as encoded; names it matches are also `==` once parsed, so unique under `==` is enough.)
    """
    everyone = (*trust.anchors, *trust.intermediates)
    if any(_has_name_constraints(cert) for cert in everyone):
        return ()
    return tuple(
        cert
        for cert in trust.intermediates
        if not any(other.subject == cert.subject and other != cert for other in everyone)
    )


def _has_name_constraints(cert: x509.Certificate) -> bool:
    try:
        cert.extensions.get_extension_for_class(x509.NameConstraints)
    except x509.ExtensionNotFound:
        return False
    except Exception:  # Unreadable extensions: the verifier will judge them; no shortcut.
        return True
    return True


def untrusted_reason(message: str, issuer_cn: str) -> str:
    """The verifier's English error as a French phrase for CERT_UNTRUSTED."""
    text = _ENCOUNTERED.sub("", message.removeprefix("validation failed: "))
    inner = text.removeprefix("candidates exhausted: ")
    if "no interior errors" in inner:
        return f"autorité émettrice inconnue (« {issuer_cn} »)"
    if "not valid at validation time" in inner:
        return "un certificat d'autorité de la chaîne est expiré ou pas encore valide"
    if "signature does not match" in inner:
        return (
            f"la signature ne correspond pas à l'autorité « {issuer_cn} » connue (certificat "
            "altéré, ou autorité homonyme)"
        )
    if "Forbidden signature algorithm" in inner:
        return "algorithme de signature refusé dans la chaîne de l'autorité"
    if "Forbidden public key algorithm" in inner:
        return "type de clé refusé pour une autorité de la chaîne"
    if "too weak" in inner:
        return "clé trop faible pour une autorité de la chaîne"
    if "max depth" in inner:
        return "chaîne de certification trop longue"
    if "invalid extension" in inner or "basicConstraints" in inner or "pathlen" in inner:
        return f"certificat d'autorité non conforme dans la chaîne ({inner})"
    return f"vérification de la chaîne refusée ({inner})"


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether `issuer` signed `cert` (by key identifiers when the algorithm is too weak)."""
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except InvalidSignature:
        return False
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # SHA-1/MD5 signatures are refused outright by verify_directly_issued_by. The name plus
        # the key identifiers are enough here: the certificate is already blocked for its signature.
        try:
            aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
            ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        except x509.ExtensionNotFound:
            return True
        return aki.key_identifier in (None, ski.digest)
    return True


def weak_key(cert: x509.Certificate, policy: Policy) -> str | None:
    """A description of the leaf's key when it is too weak, else None.

    RSA and EC are what RGS allows and are held to the policy's minimums. DSA is always weak
    (withdrawn by FIPS 186-5). Ed25519/Ed448 are strong and not flagged: RGS does not list them,
    but whether the platform accepts them is its call, not a key-strength matter.
    """
    try:
        key = cert.public_key()
    except (UnsupportedAlgorithm, ValueError):
        return f"algorithme inconnu {cert.public_key_algorithm_oid.dotted_string}"
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size} bits" if key.key_size < policy.min_rsa_bits else None
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.key_size < policy.min_ec_bits:
            return f"EC {key.curve.name} ({key.curve.key_size} bits)"
        return None
    if isinstance(key, dsa.DSAPublicKey):
        return f"DSA {key.key_size} bits"
    return None


def key_usage_problems(info: CertInfo, require_client_auth: bool) -> list[str]:
    """French reasons why the certificate cannot authenticate an agent to S²LOW."""
    problems = []
    if info.has_key_usage and "digital_signature" not in info.key_usage:
        present = ", ".join(_KEY_USAGE_FR.get(u, u) for u in info.key_usage) or "aucun"
        problems.append(
            f"l'usage « signature numérique » (digitalSignature) est absent (usages : {present})"
        )
    ekus = set(info.extended_key_usage)
    if (
        require_client_auth
        and info.has_extended_key_usage
        and CLIENT_AUTH not in ekus
        and ANY_EKU not in ekus
    ):
        present = ", ".join(_EKU_FR.get(u, u) for u in info.extended_key_usage) or "aucun"
        problems.append(
            f"l'usage étendu « authentification client » (clientAuth) est absent "
            f"(usages étendus : {present})"
        )
    return problems


def _org_ids(values: tuple[str, ...]) -> list[str]:
    digits = ("".join(ch for ch in v if ch.isdigit()) for v in values)
    return [d for d in digits if len(d) in (9, 14)]


def _label(name: str, ids: list[str]) -> str:
    kinds = ", ".join(f"{'SIRET' if len(i) == 14 else 'SIREN'} {i}" for i in ids)
    return f"« {name} » ({kinds})" if name else kinds


class Validator:
    """Runs every certificate check with one verifier built up front; one per worker process."""

    def __init__(
        self,
        trust: TrustStore | None,
        policy: Policy,
        as_of: datetime,
        revocation: RevocationChecker | None = None,
    ) -> None:
        if as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware (UTC)")
        self.trust = trust
        self.policy = policy
        self.as_of = as_of
        self.revocation = revocation
        self._verifier = build_verifier(trust, as_of) if trust is not None else None
        self._anchors = list(trust.anchors) if trust is not None else []
        self._intermediates = list(trust.intermediates) if trust is not None else []
        self._provable = provable_intermediates(trust) if trust is not None else ()
        # Provable intermediates a full verification went through, and a verifier that trusts
        # them directly: it checks a leaf and the link to its issuer only (see _through_proven).
        self._proven: list[x509.Certificate] = []
        self._shortcut: ClientVerifier | None = None

    def check(self, info: CertInfo, chain: tuple[CertInfo, ...] = ()) -> tuple[Finding, ...]:
        """Findings about `info`, without row or file; `chain`: the CA certificates of its file."""
        cert = x509.load_der_x509_certificate(info.der)
        found = self._dates(info)
        dates_bad = any(f.code is not Code.CERT_EXPIRES_SOON for f in found)
        weak_sig = WEAK_SIGNATURES.get(cert.signature_algorithm_oid.dotted_string)
        if weak_sig:
            found.append(finding(Code.CERT_WEAK_SIGNATURE, algorithm=weak_sig))
        key = weak_key(cert, self.policy)
        if key:
            minimum = f"RSA {self.policy.min_rsa_bits} bits, EC {self.policy.min_ec_bits} bits"
            found.append(finding(Code.CERT_WEAK_KEY, key=key, minimum=minimum))
        is_ca = info.is_ca or "key_cert_sign" in info.key_usage
        if is_ca:
            # The wrong file altogether: usage and policy findings would only add noise.
            found.append(finding(Code.CERT_IS_CA, cn=info.common_name or info.subject))
        else:
            problems = key_usage_problems(info, self.policy.require_client_auth)
            if problems:
                found.append(finding(Code.CERT_KEY_USAGE, reason=" ; ".join(problems)))
            found.extend(self._policies(info))
        chain_certs = [x509.load_der_x509_certificate(c.der) for c in chain]
        issuer: x509.Certificate | None = None
        if self._verifier is None:
            found.append(self._unchecked())
            issuer = next((c for c in chain_certs if _issued_by(cert, c)), None)
        else:
            problem, issuer = self._chain(cert, chain_certs, dates_bad or bool(weak_sig))
            if problem:
                found.append(problem)
        # Revocation may cost a download and cannot change the fate of a certificate that is
        # already blocked, so it is looked up only for certificates that would be pushed.
        if self.revocation is not None and not is_ca and not any_blocking(found):
            revoked = self.revocation.check_certificate(cert, issuer, info.crl_urls)
            if revoked:
                found.append(revoked)
        return tuple(found)

    def check_organisation(self, info: CertInfo, agent: Agent) -> Finding | None:
        """CERT_ORG_MISMATCH when the certificate's SIREN/SIRET is not the roster's."""
        cert_ids = _org_ids(info.org_ids)
        roster_ids = _org_ids((agent.siret,)) or _org_ids((agent.siren,))
        if not cert_ids or not roster_ids:
            return None
        roster = roster_ids[0]
        for cert_id in cert_ids:
            both_siret = len(cert_id) == 14 and len(roster) == 14
            if (cert_id == roster) if both_siret else (cert_id[:9] == roster[:9]):
                return None
        params: dict[str, object] = {
            "cert_org": _label(info.organisation, cert_ids),
            "roster_org": _label(agent.organisation, roster_ids),
        }
        if self.policy.org_mismatch_blocking:
            params["severity"] = Severity.BLOCKING.value
        return Finding(Code.CERT_ORG_MISMATCH, params=params)

    def _dates(self, info: CertInfo) -> list[Finding]:
        if self.as_of > info.not_after:
            return [finding(Code.CERT_EXPIRED, not_after=_date(info.not_after))]
        if self.as_of < info.not_before:
            return [finding(Code.CERT_NOT_YET_VALID, not_before=_date(info.not_before))]
        days = (info.not_after - self.as_of).days
        if days <= self.policy.expires_soon_days:
            when = "aujourd'hui" if days <= 0 else "demain" if days == 1 else f"dans {days} jours"
            return [
                finding(
                    Code.CERT_EXPIRES_SOON, not_after=_date(info.not_after), days=days, when=when
                )
            ]
        return []

    def _policies(self, info: CertInfo) -> list[Finding]:
        allowed = self.policy.allowed_policies
        if not allowed or set(info.policies) & set(allowed):
            return []
        return [
            finding(Code.CERT_POLICY_NOT_ALLOWED, policies=", ".join(info.policies) or "aucune")
        ]

    def _unchecked(self) -> Finding:
        if self.policy.skip_chain_check:
            return finding(Code.CERT_CHAIN_UNCHECKED, severity=Severity.WARNING.value)
        return finding(Code.CERT_CHAIN_UNCHECKED)

    def _chain(
        self, cert: x509.Certificate, chain: list[x509.Certificate], leaf_reported: bool
    ) -> tuple[Finding | None, x509.Certificate | None]:
        """(CERT_UNTRUSTED or None, the issuer certificate when the chain holds)."""
        assert self._verifier is not None
        # A leaf with bad dates or a refused signature algorithm fails any verification.
        if not chain and not leaf_reported and self._shortcut is not None:
            issuer = self._through_proven(cert)
            if issuer is not None:
                return None, issuer
        intermediates = self._intermediates + chain if chain else self._intermediates
        try:
            path = self._verifier.verify(cert, intermediates).chain
        except VerificationError as exc:
            if leaf_reported:
                # The leaf's own dates or signature algorithm already have their finding; the
                # verifier stops at them, so judge the chain from the issuer upwards instead.
                return self._chain_above(cert, intermediates)
            return self._untrusted(str(exc), cert), None
        except x509.UnsupportedGeneralNameType:
            # The client verifier parses the leaf's SAN even under permit_all and chokes on
            # x400Address/EDIPartyName. That says nothing about trust: judge from the issuer.
            return self._chain_above(cert, intermediates)
        if not chain and len(path) > 2:
            self._learn(path[1])
        return None, (path[1] if len(path) > 1 else None)

    def _through_proven(self, cert: x509.Certificate) -> x509.Certificate | None:
        """The issuer when `cert` chains to an already proven intermediate, else None.

        Verifying a leaf up to the root costs every signature on the way; an EC intermediate
        signed with P-384 costs 6 times the leaf's own. Once a full verification went through
        a provable intermediate (leaf → I → … → root, no certificate from the file), the part
        above I is known to hold for this store, date and policy: for a leaf whose only
        candidate issuer is I, the full verification does exactly what the shortcut does
        (the leaf's own checks, then I as its issuer: I's CA profile and the leaf's signature)
        and then repeats that known part. So a shortcut success is a full success with the
        same issuer; anything else goes through the full verification, for the same findings.
        """
        assert self._shortcut is not None
        try:
            path = self._shortcut.verify(cert, []).chain
        except Exception:  # Whatever it is, the full verification decides and reports it.
            return None
        # [cert] alone means cert *is* a proven intermediate: the full verification continues
        # above it, so leave that rare case to it.
        return path[1] if len(path) == 2 else None

    def _learn(self, issuer: x509.Certificate) -> None:
        if issuer in self._proven or issuer not in self._provable:
            return
        self._proven.append(issuer)
        self._shortcut = _verifier_over(self._proven, self.as_of)

    def _chain_above(
        self, cert: x509.Certificate, intermediates: list[x509.Certificate]
    ) -> tuple[Finding | None, x509.Certificate | None]:
        assert self._verifier is not None
        message, about = "candidates exhausted: no interior errors", cert
        for candidate in (*self._anchors, *intermediates):
            if not _issued_by(cert, candidate):
                continue
            if any(candidate == anchor for anchor in self._anchors):
                return None, candidate
            # The candidate goes through as an end entity, so its own CA profile is checked
            # less strictly than in a full path; acceptable on this path, where the leaf is
            # already blocked or was checked by hand.
            try:
                self._verifier.verify(candidate, intermediates)
            except VerificationError as exc:
                message, about = str(exc), candidate
                continue
            return None, candidate
        return self._untrusted(message, about), None

    @staticmethod
    def _untrusted(message: str, cert: x509.Certificate) -> Finding:
        return finding(
            Code.CERT_UNTRUSTED, reason=untrusted_reason(message, common_name(cert.issuer))
        )
