"""A sandbox socle with organisms and agents, its own export, and a browser through its importer."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from certsync.connectors.htmlform import Form, parse_page
from certsync.sandbox import SandboxHandle, start_sandbox
from certsync.sandbox.server import DEMO_PASSWORD, DEMO_USER, SandboxCredentials
from certsync.sandbox.socle import SocleApp
from certsync.sandbox.socle_import import MESSAGES


@dataclass(frozen=True, slots=True)
class Organism:
    """An organism the tests put on the sandbox socle, with the address the import needs."""

    label: str
    siren: str
    address: tuple[str, str, str]
    """(postal address, postal code, city): `Organism.getAddress()`."""


RENNES = Organism("Commune de Rennes", "213502388", ("Place de la Mairie", "35000", "Rennes"))
BREST = Organism("Ville de Brest", "212900468", ("2 rue Frézier", "29200", "Brest"))
ORGANISMS = (RENNES, BREST)


def member(
    prenom: str,
    nom: str,
    email: str,
    organism: Organism = RENNES,
    **extra: str,
) -> dict[str, str]:
    """An agent on the socle with every field of the form filled (the socle's store keys)."""
    values = {
        "civility": "MR",
        "elected": "false",
        "function": "Secrétaire de mairie",
        "postalAddress": "1 rue de la Paix",
        "postalCode": "35000",
        "city": "Rennes",
        "country": "FR",
        "cellPhone": "0612345678",
        "phone": "0299000000",
        "fax": "",
    }
    values.update(extra)
    return {"prenom": prenom, "nom": nom, "email": email, "siren": organism.siren, **values}


def app(sandbox: SandboxHandle) -> SocleApp:
    """The sandbox's socle application."""
    socle_app = sandbox.app
    assert isinstance(socle_app, SocleApp)
    return socle_app


def org_id(sandbox: SandboxHandle, organism: Organism) -> str:
    """The id the sandbox gave that organism."""
    return next(k for k, v in app(sandbox).organisations.items() if v["siren"] == organism.siren)


def seed(sandbox: SandboxHandle, members: list[dict[str, str]]) -> None:
    """Create the organisms, then the agents as `SocleApp.seed` does, with their fields."""
    socle_app = app(sandbox)
    ids = {o.siren: socle_app.add_organisation(o.label, o.siren, o.address) for o in ORGANISMS}
    with sandbox.store.mutate():
        for row in members:
            fields = {k: v for k, v in row.items() if k not in {"prenom", "nom", "email", "siren"}}
            extra = socle_app.agent_extra(ids[row["siren"]], row["email"]) | fields
            sandbox.store.add(row["email"], row["nom"], row["prenom"], extra=extra)


@contextmanager
def socle(members: list[dict[str, str]]) -> Iterator[SandboxHandle]:
    """A running sandbox socle holding those agents."""
    with start_sandbox("socle", credentials=SandboxCredentials()) as sandbox:
        seed(sandbox, members)
        yield sandbox


def browser(url: str, user: str = DEMO_USER, password: str = DEMO_PASSWORD) -> requests.Session:
    """A logged-in session, through the SSO's login page the socle redirects to."""
    session = requests.Session()
    page = session.get(f"{url}/", timeout=5)
    form = parse_page(page.text).form("kc-form-login")
    if form is not None:
        values = dict(form.fields) | {"username": user, "password": password}
        action = requests.compat.urljoin(page.url, form.action)
        session.post(action, data=values, timeout=5)
    return session


def _form(session: requests.Session, url: str, path: str, form_id: str) -> Form:
    page = session.get(f"{url}{path}", timeout=30)
    form = parse_page(page.text).form(form_id)
    assert form is not None, page.text
    return form


def export_csv(
    sandbox: SandboxHandle,
    path: Path,
    *,
    organism: Organism | None = None,
    profile_disabled: Collection[str] = (),
) -> Path:
    """export_agent.csv as the sandbox socle's export page gives it, for one organism or all.

    Every organism's export is one download (`agent_export_form`); None puts them all in one
    file, header once. `profile_disabled` writes `profil_enabled` "false" on those agents' rows:
    the reference notes report exports listing disabled agents, which this socle version's
    export (`findAllAgentProfilesByOrganism`, enabled profiles only) never does itself.
    """
    session = browser(sandbox.url)
    header: list[str] = []
    rows: list[list[str]] = []
    for one in [organism] if organism else list(ORGANISMS):
        number = org_id(sandbox, one)
        form = _form(
            session, sandbox.url, f"/organism/agent/export/export/{number}", "agent_export_form"
        )
        data = dict(form.fields) | {"submit_0": "Exporter le fichier"}
        answer = session.post(f"{sandbox.url}{form.action}", data=data, timeout=60)
        assert answer.headers["Content-Type"] == "text/csv", answer.text
        text = answer.content.decode("utf-8").removeprefix("\ufeff")
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
        header, rows = records[0], rows + records[1:]
    enabled, email = header.index("profil_enabled"), header.index("profil_email")
    for row in rows:
        if row[email] in profile_disabled:
            row[enabled] = "false"
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerows([header, *rows])
    path.write_bytes(("\ufeff" + out.getvalue()).encode("utf-8"))
    return path


def upload(
    session: requests.Session,
    url: str,
    organism: str,
    data: bytes,
    name: str = "import.csv",
    ctype: str = "text/csv",
) -> requests.Response:
    """Open the import page of an organism (by id), submit agent_import_form with a file."""
    form = _form(session, url, f"/organism/agent/export/import/{organism}", "agent_import_form")
    fields = dict(form.fields) | {"submit_0": "Importer le fichier"}
    files = {"uploadedFile": (name, data, ctype)}
    return session.post(f"{url}{form.action}", data=fields, files=files, timeout=60)


def report_counts(page: requests.Response) -> dict[str, int]:
    """The report's create, modify and delete counts (a kind it does not list is 0); {} when
    the page is not a successful report."""
    if 'id="report-success"' not in page.text:
        return {}
    counts = {}
    for kind in ("create", "modify", "delete"):
        found = re.search(r"(\d+) " + re.escape(html.escape(MESSAGES[kind])), page.text)
        counts[kind] = int(found.group(1)) if found else 0
    return counts


def create_all(session: requests.Session, url: str, organism: str) -> int:
    """Click "Créer l'utilisateur" then submit Create for every agent of the list; how many."""
    created = 0
    while True:
        page = session.get(f"{url}/organism/agent/export/createlist/{organism}", timeout=5)
        link = re.search(r'href="(/organism/agent/export/createlist\.create/[^"]+)"', page.text)
        if link is None:
            return created
        form_page = session.get(f"{url}{link.group(1)}", timeout=5)
        form = parse_page(form_page.text).form("agent_create_form")
        assert form is not None, form_page.text
        data = dict(form.fields) | {"submit_0": "Créer le compte utilisateur"}
        answer = session.post(f"{url}{form.action}", data=data, timeout=5)
        assert "alert-danger" not in answer.text, answer.text
        created += 1


def press(
    session: requests.Session, url: str, organism: str, page: str, button: str
) -> requests.Response:
    """Press "Tout modifier" (updateAll) / "Tout supprimer" (deleteAll) on a list page."""
    form = _form(session, url, f"/organism/agent/export/{page}/{organism}", "list_agents_form")
    data = dict(form.fields) | {button: dict(form.buttons)[button]}
    return session.post(f"{url}{form.action}", data=data, timeout=60)
