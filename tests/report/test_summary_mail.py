"""The summary e-mail after each run, as received by a real SMTP server on loopback."""

from __future__ import annotations

import datetime as dt
import io
from email.message import EmailMessage
from pathlib import Path

import openpyxl
import pytest

from certsync import cli
from certsync.errors import ExitCode
from tests.commands.test_cron import ENV, PEOPLE, World, email
from tests.helpers import leaf_for, write_pem
from tests.test_decisionbook import TWINS, Desk
from tests.test_notify import Recorder, server  # noqa: F401 - the SMTP server fixture

ADMIN = "admin@megalis.test"


def _config(tmp: Path, port: int, **report: object) -> Path:
    extra = "".join(
        f"{k} = {str(v).lower() if isinstance(v, bool) else v}\n" for k, v in report.items()
    )
    path = tmp / "certsync.toml"
    path.write_text(
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nstarttls = false\n'
        f'sender = "certsync@megalis.test"\n\n[report]\nemail_to = "{ADMIN}"\n{extra}',
        encoding="utf-8",
    )
    return path


def _parts(mail: EmailMessage) -> tuple[str, str, list[EmailMessage]]:
    plain = mail.get_body(preferencelist=("plain",))
    rich = mail.get_body(preferencelist=("html",))
    assert plain is not None and rich is not None
    text = plain.get_content().replace("\r\n", "\n")
    return text, rich.get_content(), list(mail.iter_attachments())


def test_dry_run_summary_then_only_news_then_always(tmp_path, pki, server, capsys):  # noqa: F811
    recorder, port = server
    desk = Desk(tmp_path, pki, None)
    config = str(_config(tmp_path, port))
    assert desk.run("r1", "--dry-run", "--config", config) == ExitCode.FINDINGS
    (mail,) = recorder.messages
    assert mail["To"] == ADMIN and mail["From"] == "certsync@megalis.test"
    assert mail["Subject"].startswith("certsync — simulation ")
    assert mail["Subject"].endswith(
        ": 1 certificat à déposer, 4 nouveaux problèmes, 1 constat bloquant"
    )
    assert mail.get_content_type() == "multipart/mixed"
    text, rich, attachments = _parts(mail)
    report = (tmp_path / "r1" / "exceptions.xlsx").resolve()
    assert "(simulation : rien n'a été déposé), date de référence 01/03/2026." in text
    assert "3 agents — à déposer (simulation) : 1, sans certificat : 2" in text
    assert "3 fichiers — utilisé : 1, sans agent : 1, en attente de décision : 1" in text
    assert "Nouveaux problèmes (première exécution) : 4" in text
    assert "Attribution ambiguë : Le certificat « Yann MORVAN »" in text
    assert (
        "Plan de la simulation : 1 certificat serait déposé, dont 1 nouveau (première exécution)"
        in text
    )
    assert (
        "Thomas DUBOIS <thomas.dubois@ville.fr> (ligne 3) : « dubois.cer », "
        "valable jusqu'au 31/05/2028 (nouveau)" in text
    )
    assert f"Rapport : {report}" in text and "est joint à ce message" in text
    assert "<h3>Plan de la simulation" in rich and "&lt;thomas.dubois@ville.fr&gt;" in rich
    (attached,) = attachments
    assert attached.get_filename() == "exceptions.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(attached.get_content()))
    assert "Constats" in book.sheetnames
    assert attached.get_content() == report.read_bytes()

    # Nothing new: nothing sent, and the command line says so.
    capsys.readouterr()
    assert desk.run("r2", "--dry-run", "--config", config) == ExitCode.FINDINGS
    assert len(recorder.messages) == 1
    assert "Résumé non envoyé : rien de nouveau" in capsys.readouterr().out

    # A new problem: only it is listed as new, against the previous run.
    expired = leaf_for(
        pki.chambersign_ca, "Yann", "MORVAN", not_before=dt.datetime(2022, 1, 1, tzinfo=dt.UTC)
    )
    write_pem(desk.certs, f"{TWINS[0]}.cer", expired)
    assert desk.run("r3", "--dry-run", "--config", config) == ExitCode.FINDINGS
    text, _rich, _att = _parts(recorder.messages[-1])
    assert "Nouveaux problèmes depuis l'exécution " in text
    news = text.split("Nouveaux problèmes", 1)[1].split("\n\n", 1)[0]
    assert news.count("\n  - ") == 1 and "Certificat expiré" in news and TWINS[0] in news
    assert "« dubois.cer », valable jusqu'au 31/05/2028\n" in text  # planned before: not new

    # Asked for always, with a workbook too big to attach.
    config = str(_config(tmp_path, port, email_always=True, attach_max_bytes=100))
    assert desk.run("r4", "--dry-run", "--config", config) == ExitCode.FINDINGS
    text, _rich, attachments = _parts(recorder.messages[-1])
    assert "Rien de nouveau depuis l'exécution précédente." in text
    assert "trop volumineux pour être joint" in text and attachments == []
    assert len(recorder.messages) == 3


@pytest.mark.slow
def test_real_run_summary_lists_pushes_and_renewals(tmp_path, pki, server, monkeypatch):  # noqa: F811
    from certsync.sandbox import start_sandbox
    from certsync.sandbox.server import SandboxCredentials

    recorder, port = server
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    accounts = [{"email": email(p, n), "nom": n, "prenom": p} for p, n in PEOPLE]
    sandbox = start_sandbox("socle", accounts=accounts, credentials=SandboxCredentials())
    try:
        world = World(tmp_path, pki, sandbox)
        config = str(_config(tmp_path, port))
        assert cli.main(world.args("--report-dir", "r1", "--config", config)) == ExitCode.OK
        text, _rich, _att = _parts(recorder.messages[-1])
        assert recorder.messages[-1]["Subject"].endswith(
            f": {len(PEOPLE)} dépôts, 0 nouveau problème"
        )
        assert f"Certificats déposés : {len(PEOPLE)}" in text
        assert "Plan de la simulation" not in text
        # An unchanged night sends nothing (the shortcut reuses the result).
        assert cli.main(world.args("--report-dir", "r2", "--config", config)) == ExitCode.OK
        assert len(recorder.messages) == 1
        p, n = PEOPLE[2]
        renewed = leaf_for(
            pki.chambersign_ca, p, n, not_before=dt.datetime(2026, 2, 1, tzinfo=dt.UTC), slot=2
        )
        write_pem(world.certs, f"{p} {n}.cer", renewed)
        args = world.args("--report-dir", "r3", "--config", config, as_of="2028-05-15")
        cli.main(args)
        text, _rich, _att = _parts(recorder.messages[-1])
        assert "Certificats déposés : 1" in text and "Renouvellements : 1" in text
        assert f"<{email(p, n)}>" in text.split("Renouvellements : 1", 1)[1]
        assert "Ce certificat remplace celui qui expirait le 31/05/2028." in text
    finally:
        sandbox.stop()
