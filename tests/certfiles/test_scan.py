"""Listing the folder and reading files into CertFiles: skips, links, limits, chains."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from certsync.certfiles import scan
from certsync.certfiles.scan import list_files, read_file
from certsync.config import Limits
from certsync.findings import Code
from certsync.records import CertFile, FileFormat
from certsync.testkit.pki import SamplePKI, agent_subject, make_leaf, rsa_key
from tests.certfiles.zoo import VECTORS, Case, names

LIMITS = Limits()


def _write(root: Path, rel: str, data: bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _codes(cert_file: CertFile) -> list[Code]:
    return [f.code for f in cert_file.findings]


@pytest.mark.parametrize("name", names())
def test_every_zoo_file_reads_to_its_expected_outcome(
    cases: dict[str, Case], tmp_path: Path, name: str
) -> None:
    case = cases[name]
    _write(tmp_path, name, case.data)
    result = read_file(tmp_path, name, LIMITS)
    assert result.path == name
    assert result.size == len(case.data)
    assert result.format is case.format
    assert _codes(result) == ([case.code] if case.code else [])
    if case.code in (None, Code.FILE_CHAIN_INCLUDED):
        assert result.cert is not None
        assert result.usable
    else:
        assert result.cert is None
        assert not result.usable
    assert all(f.file == name for f in result.findings)


def test_private_key_file_keeps_nothing(cases: dict[str, Case], tmp_path: Path) -> None:
    _write(tmp_path, "agent.pfx", cases["nopwd.pfx"].data)
    result = read_file(tmp_path, "agent.pfx", LIMITS)
    assert (result.format, result.cert, result.chain) == (FileFormat.PKCS12, None, ())
    assert result.findings[0].params == {"kind": "conteneur PKCS#12 (.pfx ou .p12)"}
    assert "PKCS#12" in result.findings[0].message()


@pytest.mark.parametrize("name", ["leaf-ca.pem", "ca-leaf.pem", "chain.p7b", "chain-b64.p7b"])
def test_chain_uses_the_agent_certificate(
    cases: dict[str, Case], tmp_path: Path, name: str
) -> None:
    _write(tmp_path, name, cases[name].data)
    result = read_file(tmp_path, name, LIMITS)
    assert result.cert is not None and result.cert.common_name == "Claire MARTIN"
    assert [c.common_name for c in result.chain] == ["ChamberSign France CA3 NG RGS"]
    (note,) = result.findings
    assert note.code is Code.FILE_CHAIN_INCLUDED
    assert dict(note.params) == {"count": 1, "subject": "Claire MARTIN"}


def test_full_chain_in_any_order(cases: dict[str, Case], tmp_path: Path) -> None:
    _write(tmp_path, "c.pem", cases["full-chain.pem"].data)
    result = read_file(tmp_path, "c.pem", LIMITS)
    assert result.cert is not None and result.cert.common_name == "Claire MARTIN"
    assert len(result.chain) == 2
    assert result.findings[0].params["count"] == 2


def test_two_agent_certificates_are_ambiguous(cases: dict[str, Case], tmp_path: Path) -> None:
    _write(tmp_path, "two.pem", cases["two-leaves.pem"].data)
    result = read_file(tmp_path, "two.pem", LIMITS)
    assert result.cert is None
    assert _codes(result) == [Code.FILE_MULTIPLE_CERTIFICATES]
    assert result.findings[0].params["count"] == 2


def test_ca_alone_is_used_so_that_validation_flags_it(
    cases: dict[str, Case], tmp_path: Path
) -> None:
    _write(tmp_path, "ca.cer", cases["ca-only.cer"].data)
    result = read_file(tmp_path, "ca.cer", LIMITS)
    assert result.cert is not None and result.cert.is_ca
    assert result.findings == ()


def test_ca_bundle_uses_the_bottom_certificate(pki: SamplePKI, tmp_path: Path) -> None:
    _write(tmp_path, "b.pem", pki.chambersign_root.pem + pki.chambersign_ca.pem)
    result = read_file(tmp_path, "b.pem", LIMITS)
    assert result.cert is not None
    assert result.cert.common_name == "ChamberSign France CA3 NG RGS"


def test_issuer_without_basic_constraints_is_not_taken_for_the_leaf(
    pki: SamplePKI, tmp_path: Path
) -> None:
    # Old v1-style CAs carry no basicConstraints: "issued another one" is what rules them out.

    legacy_ca = make_leaf(
        pki.chambersign_root, agent_subject("Old", "CA"), key=rsa_key(2048, 7), ca=None
    )
    agent = make_leaf(legacy_ca, agent_subject("Claire", "MARTIN"))
    _write(tmp_path, "x.pem", legacy_ca.pem + agent.pem)
    result = read_file(tmp_path, "x.pem", LIMITS)
    assert result.cert is not None and result.cert.common_name == "Claire MARTIN"
    assert _codes(result) == [Code.FILE_CHAIN_INCLUDED]


def test_listing_is_recursive_sorted_and_skips_hidden_and_lock_files(
    cases: dict[str, Case], tmp_path: Path
) -> None:
    data = cases["plain.der"].data
    for rel in [
        "b.cer",
        "a/z.cer",
        "a/b/c.pem",
        "~$x.cer",
        ".hidden",
        ".git/config",
        "a/.DS_Store",
    ]:
        _write(tmp_path, rel, data)
    os.mkfifo(tmp_path / "pipe")
    assert [e.rel for e in list_files(tmp_path)] == ["a/b/c.pem", "a/z.cer", "b.cer"]
    entry = list_files(tmp_path)[0]
    assert entry.path == tmp_path / "a" / "b" / "c.pem"
    assert (entry.size, entry.outside) == (len(data), False)
    read = [read_file(tmp_path, entry.rel, LIMITS) for entry in list_files(tmp_path)]
    assert [f.path for f in read] == ["a/b/c.pem", "a/z.cer", "b.cer"]


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.cer")
    result = read_file(tmp_path, "pipe.cer", LIMITS)
    assert result.findings[0].params["reason"] == "pas un fichier ordinaire"


def test_link_outside_is_listed_and_refused_unread(
    cases: dict[str, Case], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "certs"
    outside = _write(tmp_path, "elsewhere/agent.cer", cases["plain.der"].data)
    root.mkdir()
    (root / "agent.cer").symlink_to(outside)
    (root / "folder").symlink_to(outside.parent, target_is_directory=True)
    entries = list_files(root)
    assert [(e.rel, e.outside) for e in entries] == [("agent.cer", True), ("folder", True)]
    monkeypatch.setattr(scan, "open", _no_open, raising=False)
    for rel in ("agent.cer", "folder"):
        result = read_file(root, rel, LIMITS)
        assert _codes(result) == [Code.FILE_OUTSIDE_FOLDER]
        assert result.cert is None
    result = read_file(root, "../elsewhere/agent.cer", LIMITS)
    assert _codes(result) == [Code.FILE_OUTSIDE_FOLDER]


def test_link_inside_is_followed(cases: dict[str, Case], tmp_path: Path) -> None:
    _write(tmp_path, "real/agent.der", cases["plain.der"].data)
    (tmp_path / "alias.cer").symlink_to(tmp_path / "real" / "agent.der")
    (tmp_path / "again").symlink_to(tmp_path / "real", target_is_directory=True)
    assert [e.rel for e in list_files(tmp_path)] == ["alias.cer", "real/agent.der"]
    result = read_file(tmp_path, "alias.cer", LIMITS)
    assert result.cert is not None and result.findings == ()


def test_dangling_link_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "gone.cer").symlink_to(tmp_path / "missing.cer")
    assert [e.rel for e in list_files(tmp_path)] == ["gone.cer"]
    result = read_file(tmp_path, "gone.cer", LIMITS)
    assert _codes(result) == [Code.FILE_UNREADABLE]
    assert result.findings[0].params["reason"] == "fichier introuvable (supprimé ou lien cassé)"


def _no_open(*args: object, **kwargs: object) -> None:
    raise AssertionError("the file was opened")


def test_too_large_file_is_refused_from_its_size_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (tmp_path / "huge.cer").open("wb") as handle:
        handle.truncate(int(3.2 * 1024 * 1024))  # sparse: nothing is really written
    monkeypatch.setattr(scan, "open", _no_open, raising=False)
    result = read_file(tmp_path, "huge.cer", LIMITS)
    assert _codes(result) == [Code.FILE_UNREADABLE]
    reason = result.findings[0].params["reason"]
    assert reason == "fichier trop volumineux (3,2 Mio, maximum 1 Mio)"


def test_size_limit_is_configurable(cases: dict[str, Case], tmp_path: Path) -> None:
    _write(tmp_path, "a.pem", cases["lf.pem"].data)
    result = read_file(tmp_path, "a.pem", Limits(max_file_bytes=1000))
    reason = str(result.findings[0].params["reason"])
    assert reason.startswith("fichier trop volumineux (1,")
    assert reason.endswith(" Kio, maximum 1000 octets)")


def test_permission_error_is_a_finding(
    cases: dict[str, Case], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path, "a.pem", cases["lf.pem"].data)

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(scan, "_read_at_most", denied)
    result = read_file(tmp_path, "a.pem", LIMITS)
    assert result.findings[0].params == {"reason": "accès refusé"}


def test_short_reads_are_completed(
    cases: dict[str, Case], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A network share may return fewer bytes than asked for before the end of the file.
    _write(tmp_path, "a.pem", cases["lf.pem"].data)
    whole = read_file(tmp_path, "a.pem", LIMITS)
    real_read = os.read
    monkeypatch.setattr(os, "read", lambda fd, count: real_read(fd, min(count, 7)))
    assert read_file(tmp_path, "a.pem", LIMITS) == whole
    assert whole.cert is not None and not whole.findings


def test_unexpected_bug_becomes_a_finding(
    cases: dict[str, Case], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path, "a.pem", cases["lf.pem"].data)

    def broken(data: bytes) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(scan, "sniff", broken)
    result = read_file(tmp_path, "a.pem", LIMITS)
    assert _codes(result) == [Code.FILE_UNREADABLE]


def test_malformed_certificate_in_a_chain_rejects_the_file(
    cases: dict[str, Case], tmp_path: Path
) -> None:

    bad = (VECTORS / "x509" / "custom" / "two_basic_constraints.pem").read_bytes()
    _write(tmp_path, "x.pem", cases["lf.pem"].data + bad)
    result = read_file(tmp_path, "x.pem", LIMITS)
    assert result.cert is None
    assert result.findings[0].params == {
        "reason": "certificat 2 sur 2 : certificat mal formé : extension en double"
    }


def test_read_file_and_its_result_pickle(cases: dict[str, Case], tmp_path: Path) -> None:
    # The pipeline runs read_file in worker processes.
    _write(tmp_path, "c.p7b", cases["chain.p7b"].data)
    assert pickle.loads(pickle.dumps(read_file)) is read_file
    result = read_file(tmp_path, "c.p7b", LIMITS)
    assert pickle.loads(pickle.dumps(result)) == result
