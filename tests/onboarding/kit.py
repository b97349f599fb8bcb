"""A sandbox socle with organisms, its export as the socle writes it, and a browser session."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from certsync.connectors.htmlform import parse_page
from certsync.sandbox import SandboxHandle, start_sandbox
from certsync.sandbox.server import DEMO_PASSWORD, DEMO_USER, SandboxCredentials
from certsync.sandbox.socle import EXPORT_HEADER
from certsync.sandbox.socle_import import ImportPages, Organism

RENNES = Organism("12", "Commune de Rennes", "Place de la Mairie", "35000", "Rennes")
BREST = Organism("13", "Ville de Brest", "2 rue Frézier", "29200", "Brest")
SIRENS = {"12": "213502388", "13": "212900468"}


def member(
    prenom: str,
    nom: str,
    email: str,
    organism: Organism = RENNES,
    **extra: str,
) -> dict[str, str]:
    """An agent on the socle with every field of the form filled."""
    values = {
        "organism_id": organism.id,
        "enabled": "true",
        "username": email,
        "civility": "MR",
        "elected": "",
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
    return {"prenom": prenom, "nom": nom, "email": email, **values}


def seed(sandbox: SandboxHandle, members: list[dict[str, str]]) -> None:
    """Put the organisms and agents in the sandbox store."""
    pages: ImportPages = sandbox.app.imports  # type: ignore[attr-defined]
    for organism in (RENNES, BREST):
        pages.add_organism(organism)
    with sandbox.store.mutate():
        for row in members:
            extra = {k: v for k, v in row.items() if k not in {"prenom", "nom", "email"}}
            sandbox.store.add(row["email"], row["nom"], row["prenom"], extra=extra)


def export_csv(
    sandbox: SandboxHandle, path: Path, *, disabled: bool = False, organism: Organism | None = None
) -> Path:
    """export_agent.csv as ExportAgentCSVGeneratorServiceImpl writes it (BOM, `;`, quoted).

    The real export lists enabled agents only (`findAllAgentProfilesByOrganism`);
    `disabled=True` lists them too, as the reference notes say some exports do. The export
    page exports one organism; `organism` does the same, None puts every one in one file.
    """
    labels = {"MR": "M.", "MRS": "Mme"}
    organisms = {o.id: o for o in (RENNES, BREST)}
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(EXPORT_HEADER)
    with sandbox.store.lock:
        accounts = list(sandbox.store.accounts.values())
    for a in accounts:
        x = a.extra
        if x.get("enabled") == "false" and not disabled:
            continue
        if organism is not None and x["organism_id"] != organism.id:
            continue
        org = organisms[x["organism_id"]]
        row = dict.fromkeys(EXPORT_HEADER, "")
        row.update(
            user_id=a.id,
            user_civility=labels.get(x.get("civility", ""), ""),
            user_firstname=a.prenom,
            user_lastname=a.nom,
            user_username=x.get("username", a.email),
            profil_id=a.id,
            profil_email=a.email,
            profil_enabled="false" if x.get("enabled") == "false" else "true",
            profil_function=x.get("function", ""),
            profil_postalAddress=x.get("postalAddress", ""),
            profil_postalCode=x.get("postalCode", ""),
            profil_city=x.get("city", ""),
            profil_country=x.get("country", ""),
            profil_cellPhone=x.get("cellPhone", ""),
            profil_phone=x.get("phone", ""),
            profil_fax=x.get("fax", ""),
            agent_profil_elected="true" if x.get("elected") == "on" else "false",
            organism_id=org.id,
            organism_label=org.label,
            organism_siren=SIRENS[org.id],
        )
        writer.writerow([row[h] for h in EXPORT_HEADER])
    path.write_bytes(("\ufeff" + out.getvalue()).encode("utf-8"))
    return path


@contextmanager
def socle(members: list[dict[str, str]]) -> Iterator[SandboxHandle]:
    """A running sandbox socle holding those agents."""
    with start_sandbox("socle", credentials=SandboxCredentials()) as sandbox:
        seed(sandbox, members)
        yield sandbox


def browser(url: str) -> requests.Session:
    """A logged-in session, through whatever login page a protected page leads to."""
    session = requests.Session()
    page = session.get(f"{url}/organism/agent/export/import/{RENNES.id}", timeout=5)
    form = parse_page(page.text).form("kc-form-login")
    if form is not None:
        values = dict(form.fields) | {"username": DEMO_USER, "password": DEMO_PASSWORD}
        action = requests.compat.urljoin(page.url, form.action)
        session.post(action, data=values, timeout=5)
    return session


def upload(
    session: requests.Session,
    url: str,
    organism: Organism,
    data: bytes,
    name: str = "import.csv",
    ctype: str = "text/csv",
) -> requests.Response:
    """Submit agent_import_form with a file; the answer after redirects."""
    files = {"uploadedFile": (name, data, ctype)}
    fields = {"t:formdata": "H4sIAAAAAAAAAA==", "submit_0": "Importer le fichier"}
    return session.post(
        f"{url}/organism/agent/export/import/{organism.id}", data=fields, files=files, timeout=30
    )


def report_counts(page: requests.Response) -> dict[str, int]:
    """The three counts of the report page (create, modify, delete)."""
    found = dict(re.findall(r'id="report-(\w+)">(\d+) ', page.text))
    return {k: int(v) for k, v in found.items()}


def create_all(session: requests.Session, url: str, organism: Organism) -> int:
    """Click "Créer" then "Enregistrer" for every agent of the create list; how many."""
    created = 0
    while True:
        page = session.get(f"{url}/organism/agent/export/createlist/{organism.id}", timeout=5)
        link = re.search(r'class="create" href="([^"]+)"', page.text)
        if link is None:
            return created
        form_page = session.get(f"{url}{link.group(1)}", timeout=5)
        form = parse_page(form_page.text).form("agent_create_form")
        assert form is not None, form_page.text
        answer = session.post(f"{url}{form.action}", data=dict(form.fields) | {"submit_0": "x"})
        assert "alert-danger" not in answer.text, answer.text
        created += 1


def press(session: requests.Session, url: str, page: str, button: str) -> requests.Response:
    """Press "Tout modifier" / "Tout supprimer" on a list page."""
    return session.post(
        f"{url}/organism/agent/export/{page}/{RENNES.id}",
        data={"t:formdata": "H4sI", button: "x"},
        timeout=30,
    )
