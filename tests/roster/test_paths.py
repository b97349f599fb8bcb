"""The file column: references resolved inside the certificate folder only."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certsync.findings import Code
from certsync.roster import read_roster, resolve_file_ref


@pytest.fixture
def certs(tmp_path):
    root = tmp_path / "certs"
    (root / "Brest" / "2026").mkdir(parents=True)
    (root / "Quimper").mkdir()
    (root / "top.cer").write_text("x")
    (root / "Brest" / "2026" / "dupont.cer").write_text("x")
    (root / "Brest" / "Martin.cer").write_text("x")
    (root / "Quimper" / "martin.cer").write_text("x")
    (root / "Quimper" / "same.cer").write_text("x")
    (root / "Brest" / "same.cer").write_text("x")
    (tmp_path / "secret.cer").write_text("outside")
    return root


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("top.cer", "top.cer"),
        ("./top.cer", "top.cer"),
        (" top.cer\u00a0", "top.cer"),
        ("Brest/2026/dupont.cer", "Brest/2026/dupont.cer"),
        ("Brest\\2026\\dupont.cer", "Brest/2026/dupont.cer"),
        ("dupont.cer", "Brest/2026/dupont.cer"),  # bare name found in a sub-folder
        ("Martin.cer", "Brest/Martin.cer"),  # exact name wins over the case-insensitive one
        ("DUPONT.CER", "Brest/2026/dupont.cer"),  # unique case-insensitive match
        ("same.cer", None),  # two files with that name: ambiguous
        ("absent.cer", None),
        ("Brest/absent.cer", None),
        ("../secret.cer", None),
        ("Brest/../../secret.cer", None),
        ("..\\secret.cer", None),
        ("/etc/passwd", None),
        ("C:\\certs\\top.cer", None),
        ("\\\\serveur\\partage\\top.cer", None),
        ("", None),
        ("Brest", None),  # a folder is not a file
        ("a" * 5000, None),  # name too long for the file system
        ("x/" * 3000, None),
        ("top\x00.cer", None),
    ],
)
def test_resolve_file_ref(certs, ref, expected):
    assert resolve_file_ref(certs, ref) == expected


def test_absolute_path_to_a_file_inside_is_still_refused(certs):
    assert resolve_file_ref(certs, str(certs / "top.cer")) is None


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_symlink_escaping_the_folder_refused(certs):
    (certs / "link.cer").symlink_to(certs.parent / "secret.cer")
    (certs / "inner.cer").symlink_to(certs / "top.cer")
    (certs / "outdir").symlink_to(certs.parent)
    assert resolve_file_ref(certs, "link.cer") is None
    assert resolve_file_ref(certs, "outdir/secret.cer") is None
    assert resolve_file_ref(certs, "inner.cer") == "inner.cer"
    # The bare-name search neither follows the escaping link nor the linked folder.
    assert resolve_file_ref(certs, "secret.cer") is None


def test_file_findings_in_roster(certs, tmp_path):
    roster_path = tmp_path / "agents.csv"
    roster_path.write_text(
        "Nom;Prénom;Courriel;Fichier\n"
        "Dupont;Jean;j@m.fr;dupont.cer\n"
        "Martin;Anne;a@m.fr;absent.cer\n"
        "Le Gall;Loïc;l@m.fr;../secret.cer\n"
        "Morvan;Yann;y@m.fr;/etc/passwd\n"
        "Tanguy;Rozenn;r@m.fr;\n",
        encoding="utf-8",
    )
    roster = read_roster(roster_path, certs_root=certs)
    assert roster.agents[0].file_ref == "dupont.cer"  # as written
    assert [(f.row, f.code, f.params) for f in roster.findings] == [
        (3, Code.ROSTER_FILE_NOT_FOUND, {"name": "absent.cer", "reason": ""}),
        (
            4,
            Code.ROSTER_FILE_NOT_FOUND,
            {"name": "../secret.cer", "reason": " (le chemin sort du dossier)"},
        ),
        (
            5,
            Code.ROSTER_FILE_NOT_FOUND,
            {"name": "/etc/passwd", "reason": " (le chemin sort du dossier)"},
        ),
    ]
    assert "n'existe pas dans le dossier des certificats (le chemin sort du dossier)." in (
        roster.findings[1].message()
    )


def test_no_certs_root_no_file_check(certs, tmp_path):
    roster_path = tmp_path / "agents.csv"
    roster_path.write_text("Nom;Prénom;Courriel;Fichier\nDupont;Jean;j@m.fr;absent.cer\n")
    assert read_roster(roster_path).findings == ()


@given(ref=st.text(alphabet=st.sampled_from(list("ab./\\:~\x00é ")), max_size=30))
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_resolve_never_leaves_the_folder(certs, ref):
    resolved = resolve_file_ref(certs, ref)
    if resolved is not None:
        target = (certs / resolved).resolve()
        assert target.is_file() and target.is_relative_to(certs.resolve())
