"""`certsync trust build`: the store from the authorities' own files, in whatever form they come,
refusing what is not an authority, and checked by reading it back as a run does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding, pkcs7

from certsync.errors import ExitCode
from certsync.trust import load_trust
from tests.helpers import leaf_for, write_pem


def _cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "certsync", *map(str, args)],
        capture_output=True, text=True, cwd=cwd, check=False,
    )  # fmt: skip


def test_store_from_der_utf16_pem_and_p7b_files_refusing_agents(tmp_path, pki):
    files = tmp_path / "publie"
    files.mkdir()
    (files / "racine-chambersign.cer").write_bytes(pki.chambersign_root.der)
    # The intermediate as Notepad saves PEM: UTF-16 with a byte-order mark, CRLF.
    utf16 = pki.chambersign_ca.pem.decode("ascii").replace("\n", "\r\n").encode("utf-16")
    (files / "ac-ng-rgs.crt").write_bytes(utf16)
    bundle = pkcs7.serialize_certificates(
        [pki.certigna_root.cert, pki.certigna_ca.cert, pki.chambersign_root.cert], Encoding.DER
    )
    (files / "certigna.p7b").write_bytes(bundle)
    agent = write_pem(files, "agent.cer", leaf_for(pki.chambersign_ca, "Thomas", "DUBOIS"))

    proc = _cli("trust", "build", *sorted(files.iterdir()), files / "absent.cer", cwd=tmp_path)
    assert proc.returncode == ExitCode.FINDINGS, proc.stderr
    assert "2 autorité(s) racine(s), 2 intermédiaire(s)" in proc.stderr  # duplicates removed
    assert (
        f"écarté : {agent}" in proc.stderr and "n'est pas un certificat d'autorité" in proc.stderr
    )
    assert "absent.cer" in proc.stderr and "Traceback" not in proc.stderr
    store = tmp_path / "autorites.pem"
    store.write_text(proc.stdout, encoding="utf-8")
    trust = load_trust(store)
    assert sorted(c.subject.rfc4514_string() for c in trust.anchors) == sorted(
        [pki.chambersign_root.cert.subject.rfc4514_string(),
         pki.certigna_root.cert.subject.rfc4514_string()]
    )  # fmt: skip
    assert "# Autorité racine : ChamberSign France CA3 Root" in proc.stdout
    assert "Thomas" not in proc.stdout
    # The store built is the one a run accepts: the agent's certificate chains to it.
    checked = _cli("inspect", agent, "--trust", store, "--as-of", "2026-03-01", cwd=tmp_path)
    assert checked.returncode == ExitCode.OK, checked.stdout
    assert "aucun — certificat utilisable" in checked.stdout


def test_store_without_a_root_is_refused_and_a_lonely_intermediate_is_flagged(tmp_path, pki):
    (tmp_path / "ac.cer").write_bytes(pki.certigna_ca.der)
    proc = _cli("trust", "build", tmp_path / "ac.cer", cwd=tmp_path)
    assert proc.returncode == ExitCode.INPUT
    assert "Aucune autorité racine" in proc.stderr and proc.stdout == ""
    (tmp_path / "racine.cer").write_bytes(pki.chambersign_root.der)
    out = tmp_path / "autorites.pem"
    proc = _cli("trust", "build", tmp_path / "racine.cer", tmp_path / "ac.cer", "-o", out,
                cwd=tmp_path)  # fmt: skip
    assert proc.returncode == ExitCode.FINDINGS
    assert "« Certigna Identity CA » est émise par « Certigna Root CA », absente" in proc.stderr
    assert len(load_trust(out).intermediates) == 1
