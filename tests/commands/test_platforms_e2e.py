"""Acceptance: the real CLI (`certsync run`, `certsync check`) against each platform's sandbox.

One hard roster for the three platforms: accented names (é, è, ï, ç, ë), apostrophes and
hyphens, agents spread over three organisations / authorities / entities, disabled accounts,
agents with no account, and more platform users than one listing page. The sandbox's own stored
records are compared before and after every run, not the connector's view of them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from certsync import cli
from certsync.config import PLATFORMS
from certsync.connectors.pem import der_of_text
from certsync.errors import ExitCode
from certsync.sandbox import SandboxHandle, start_sandbox
from certsync.sandbox.pastell import PastellApp
from certsync.sandbox.s2low import Admin, S2lowApp
from certsync.sandbox.server import Request, Response, SandboxCredentials
from certsync.sandbox.socle import EXTRA_DEFAULTS, SocleApp
from certsync.testkit.pki import SamplePKI
from certsync.testkit.rosters import write_csv
from tests.connectors.kit import ENV
from tests.helpers import BREST_SIREN, BREST_SIRET, RENNES_SIREN, RENNES_SIRET, leaf_for, write_pem


@dataclass(frozen=True)
class Org:
    """One organisation of the roster and where each platform files it."""

    label: str
    siren: str
    siret: str
    s2low: str
    """S²LOW authority id (the sandbox's authorities 1, 2, 3)."""
    pastell: str
    """Pastell id_e (the sandbox's entities 2, 3 and 4, a child of 3)."""


ORGS = (
    Org("Commune de Rennes", RENNES_SIREN, RENNES_SIRET, "1", "2"),
    Org("Commune de Brest", BREST_SIREN, BREST_SIRET, "2", "3"),
    Org("CCAS de Plouha", "212202402", "21220240200013", "3", "4"),
)


@dataclass(frozen=True)
class Person:
    """A roster agent and what the platform holds for them."""

    prenom: str
    nom: str
    email: str
    org: int
    state: str = "active"
    """active, disabled (listed, never written) or missing (no account on the platform)."""


PEOPLE = (
    Person("Hélène", "Le Bihan-Kervella", "helene.lebihan@rennes.bzh", 0),
    Person("Françoise", "D'Hervé", "francoise.dherve@rennes.bzh", 0),
    Person("Anaïs", "Lefèvre", "anais.lefevre@brest.bzh", 1),
    Person("Jean-Noël", "Le Goff", "jn.legoff@brest.bzh", 1),
    Person("Joël", "L'Helgouac'h", "joel.lhelgouach@plouha.bzh", 2),
    Person("Maëlle", "Guéguen", "maelle.gueguen@plouha.bzh", 2),
    Person("Cécile", "Ménez-Poulmarc'h", "cecile.menez@rennes.bzh", 0),
    Person("Loïc", "Riou", "loic.riou@brest.bzh", 1),
    Person("Hervé", "Le Dû", "herve.ledu@rennes.bzh", 0, "disabled"),
    Person("Aurélie", "Quéré", "aurelie.quere@plouha.bzh", 2, "disabled"),
    Person("Ségolène", "Prigent", "segolene.prigent@brest.bzh", 1, "missing"),
    Person("Éloïse", "Kerjean", "eloise.kerjean@plouha.bzh", 2, "missing"),
)
#: Accounts on the platform that are not in the roster: never touched.
BYSTANDERS = (
    Person("Gaël", "Tanguy", "gael.tanguy@rennes.bzh", 0),
    Person("Nolwenn", "Caër", "nolwenn.caer@brest.bzh", 1),
    Person("Zoé", "Prat", "zoe.prat@plouha.bzh", 2),
)
ACTIVE = [p for p in PEOPLE if p.state == "active"]
DISABLED = [p for p in PEOPLE if p.state == "disabled"]
MISSING = [p for p in PEOPLE if p.state == "missing"]
#: S²LOW fillers: with the connector's pages of 500, the roster spans two pages.
S2LOW_FILLERS = 520


def _records(sandbox: SandboxHandle) -> dict[str, dict[str, object]]:
    """Every account exactly as the sandbox stores it (a deep copy)."""
    with sandbox.store.lock:
        return {i: dataclasses.asdict(a) for i, a in sandbox.store.accounts.items()}


def _sha(record: dict[str, object]) -> str | None:
    der = der_of_text(record["certificate"])  # type: ignore[arg-type]
    return hashlib.sha256(der).hexdigest() if der is not None else None


def _without_certificate(platform: str, record: dict[str, object]) -> dict[str, object]:
    """The record minus the certificate it holds (and the write counter)."""
    out = {k: v for k, v in record.items() if k not in ("certificate", "writes")}
    extra = dict(record["extra"])  # type: ignore[call-overload]
    extra.pop("certificate_hash", None)  # S²LOW's hash of the stored certificate
    if platform == "s2low":
        # AdminUserController::doEditAction rewrites one permission row per module of the
        # authority (User::setPerm): a module with no row before gets "NONE", which
        # User::canAccess reads exactly as no row. Any other permission value must survive.
        for module in ("1", "2", "3"):
            if extra.get(f"perm:{module}") == "NONE":
                del extra[f"perm:{module}"]
    out["extra"] = extra
    return out


class World:
    """A platform sandbox seeded with the roster's accounts, the roster, certificates, config."""

    def __init__(self, platform: str, tmp: Path, pki: SamplePKI) -> None:
        self.platform, self.tmp = platform, tmp
        self.sandbox = start_sandbox(platform, credentials=SandboxCredentials())
        self.ids: dict[str, str] = {}
        getattr(self, f"_seed_{platform}")()
        self.certs = tmp / "depot"
        self.sha: dict[str, str] = {}
        for i, p in enumerate(PEOPLE):
            issued = leaf_for(
                pki.chambersign_ca, p.prenom, p.nom, siret=ORGS[p.org].siret, slot=i % 4
            )
            write_pem(self.certs, f"{p.prenom} {p.nom}.pem", issued)
            self.sha[p.email] = hashlib.sha256(issued.der).hexdigest()
        rows = [
            {"Nom": p.nom, "Prénom": p.prenom, "Courriel": p.email,
             "Collectivité": ORGS[p.org].label, "SIREN": ORGS[p.org].siren}
            for p in PEOPLE
        ]  # fmt: skip
        self.roster = write_csv(tmp / "agents.csv", rows)
        (tmp / "trust.pem").write_bytes(pki.trust_pem())
        self.config = tmp / "certsync.toml"
        self.config.write_text(
            "[platform]\n"
            f'name = "{platform}"\n'
            "workers = 4\nrate_per_second = 0\ntimeout_seconds = 5\nmax_attempts = 2\n"
            'authority_id = "1"\nentity_id = "1"\n',
            encoding="utf-8",
        )
        self.runs = 0

    # -- seeding, through each sandbox's own data model --------------------------------------

    def _seed_socle(self) -> None:
        app = self.sandbox.app
        assert isinstance(app, SocleApp)
        for p in (*PEOPLE, *BYSTANDERS):
            if p.state != "missing":
                org = ORGS[p.org]
                app.seed_row({"email": p.email, "nom": p.nom, "prenom": p.prenom,
                              "organisation": org.label, "siren": org.siren})  # fmt: skip
        with self.sandbox.store.mutate():
            for n, account in enumerate(self.sandbox.store.accounts.values()):
                self.ids[account.email] = account.id
                # Fields an administrator filled in, which a write must keep byte for byte.
                account.extra.update(
                    technicalIdentifier=f"Réf. « n°{n} » de l'agent",
                    function="Chargée d'accueil – état civil" if n % 2 else "",
                    phone=f"02990011{n:02d}",
                    civility="MRS" if n % 3 else "MR",
                    grade="DIRECTRICE_ADJOINTE" if n % 4 == 1 else "",
                    elected="true" if n % 5 == 2 else "false",
                    postalAddress=f"{n} rue de l'Église, bâtiment ç",
                )
        for p in DISABLED:
            app.disable(self.ids[p.email])

    def _seed_s2low(self) -> None:
        app = self.sandbox.app
        assert isinstance(app, S2lowApp)
        app.admin = Admin(role="GADM", authority_id="1", group_id="1")  # sees 3 authorities
        for org in ORGS:  # the roster's organisations are the sandbox's authorities 1, 2, 3
            app.authorities[org.s2low] = dataclasses.replace(
                app.authorities[org.s2low], name=org.label
            )
        store = self.sandbox.store
        with store.mutate():
            for i in range(S2LOW_FILLERS):
                store.add(f"agent{i:03d}@rennes.bzh", f"Kervran-{i:03d}", "Agent",
                          extra={"role": "USER", "status": "1", "authority_id": "1",
                                 "login": "", "authority_group_id": "", "telephone": "",
                                 "perm:1": "RW"})  # fmt: skip
            for n, p in enumerate((*PEOPLE, *BYSTANDERS)):
                if p.state == "missing":
                    continue
                authority = ORGS[p.org].s2low
                extra = {
                    "role": "USER",
                    "status": "0" if p.state == "disabled" else "1",
                    "authority_id": authority,
                    "login": f"{p.prenom[0]}{p.nom}".lower() if n % 2 else "",
                    "authority_group_id": "",
                    "telephone": f"02 99 00 11 {n:02d}",
                    "perm:1": "RW",
                    "perm:3": "RO" if n % 3 else "NONE",
                }
                if n == 0:
                    del extra["perm:3"]  # no row: a write stores "NONE" (see _without_certificate)
                if authority != "2":  # authority 2 has no module 2 (helios)
                    extra["perm:2"] = "RO"
                self.ids[p.email] = store.add(p.email, p.nom, p.prenom, extra=extra).id

    def _seed_pastell(self) -> None:
        app = self.sandbox.app
        assert isinstance(app, PastellApp)
        for org in ORGS:  # the roster's organisations are the sandbox's entities 2, 3, 4
            app.entities[org.pastell] = dataclasses.replace(
                app.entities[org.pastell], denomination=org.label, siren=org.siren
            )
        store = self.sandbox.store
        with store.mutate():
            for n, p in enumerate((*PEOPLE, *BYSTANDERS)):
                if p.state == "missing":
                    continue
                extra = {
                    "login": p.email if n % 2 else f"{p.prenom}.{p.nom}".lower(),
                    "id_e": ORGS[p.org].pastell,
                    "is_enabled": "0" if p.state == "disabled" else "1",
                }
                self.ids[p.email] = store.add(p.email, p.nom, p.prenom, extra=extra).id

    def add_twin(self, person: Person, org: int, *, active: bool) -> str:
        """A second account with the person's e-mail in another organisation; its id.

        Every platform allows it: S²LOW's and Pastell's e-mail is not unique (User::$dbFields,
        the login is), and the socle asks for an alias as the username of a second agent with
        the same e-mail (AgentForm.onValidate's message).
        """
        store, n = self.sandbox.store, len(self.sandbox.store.accounts)
        if self.platform == "socle":
            app = self.sandbox.app
            assert isinstance(app, SocleApp)
            org_id = self.org_ids()[org]
            extra = dict(EXTRA_DEFAULTS, organism=org_id, username=f"twin{n}+{person.email}")
            extra["organismDepartment"] = app.organisations[org_id]["root"]
        elif self.platform == "s2low":
            extra = {"role": "USER", "status": "1", "authority_id": ORGS[org].s2low,
                     "login": f"twin{n}", "authority_group_id": "", "telephone": "",
                     "perm:1": "RW"}  # fmt: skip
        else:
            extra = {"login": f"twin{n}", "id_e": ORGS[org].pastell, "is_enabled": "1"}
        with store.mutate():
            twin = store.add(person.email, person.nom, person.prenom, extra=extra)
        if not active:
            if self.platform == "socle":
                app = self.sandbox.app
                assert isinstance(app, SocleApp)
                app.disable(twin.id)
            else:
                with store.mutate():
                    twin.extra["status" if self.platform == "s2low" else "is_enabled"] = "0"
        return twin.id

    # -- running the CLI ----------------------------------------------------------------------

    def run(self, *extra: str, state: str = "state.sqlite") -> tuple[int, dict[str, Any]]:
        """`certsync run` for real; the exit code and the report's agents by e-mail."""
        self.runs += 1
        report = self.tmp / f"r{self.runs}"
        code = cli.main(
            ["run", "--config", str(self.config), "--roster", str(self.roster),
             "--certs", str(self.certs), "--trust", str(self.tmp / "trust.pem"),
             "--url", self.sandbox.url, "--as-of", "2026-03-01",
             "--state", str(self.tmp / state), "--report-dir", str(report), *extra]
        )  # fmt: skip
        if not (report / "report.json").exists():  # a run stopped before any report
            return code, {}
        data = json.loads((report / "report.json").read_text(encoding="utf-8"))
        return code, {a["email"]: a for a in data["agents"]}

    def check(self, *extra: str) -> int:
        """`certsync check` for real."""
        return cli.main(["check", "--config", str(self.config), "--url", self.sandbox.url, *extra])

    def break_listing(self) -> None:
        """One organisation / page / entity of the listing answers 500 (a gap)."""
        app = self.sandbox.app
        real = app.handle

        def broken(request: Request) -> Response:
            org = self.org_ids()[0]
            if (
                (self.platform == "socle" and request.path.endswith(f"/export/export/{org}"))
                or (self.platform == "s2low" and request.arg("page") == "2")
                or (self.platform == "pastell" and request.arg("id_e") == ORGS[2].pastell)
            ):
                return Response(500, b"<html>Internal Server Error</html>", "text/html")
            return real(request)

        app.handle = broken  # type: ignore[method-assign]

    def org_ids(self) -> list[str]:
        """Each roster organisation's id on this platform, in ORGS order."""
        if self.platform == "socle":
            app = self.sandbox.app
            assert isinstance(app, SocleApp)
            by_siren = {o["siren"]: i for i, o in app.organisations.items()}
            return [by_siren[o.siren] for o in ORGS]
        return [getattr(o, self.platform) for o in ORGS]


@pytest.fixture(params=PLATFORMS)
def world(
    request: pytest.FixtureRequest, tmp_path: Path, pki: SamplePKI, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    w = World(str(request.param), tmp_path, pki)
    try:
        yield w
    finally:
        w.sandbox.stop()


def _assert_only_certificates_changed(
    w: World, before: dict[str, dict[str, object]], after: dict[str, dict[str, object]],
    written: set[str],
) -> None:  # fmt: skip
    """Accounts of `written` e-mails got their certificate once; nothing else changed a byte."""
    assert set(before) <= set(after)
    for account_id, old in before.items():
        new, email = after[account_id], str(old["email"])
        if email in written and w.ids[email] == account_id:  # not a twin of the same e-mail
            assert _sha(new) == w.sha[email], email
            assert new["writes"] == int(old["writes"]) + 1, email  # type: ignore[call-overload]
            assert _without_certificate(w.platform, new) == _without_certificate(w.platform, old)
        else:
            assert new == old, email


def test_real_push_puts_each_certificate_and_changes_nothing_else(world: World) -> None:
    w = world
    before = _records(w.sandbox)
    code, agents = w.run()
    after = _records(w.sandbox)
    _assert_only_certificates_changed(w, before, after, {p.email for p in ACTIVE})
    for p in ACTIVE:
        assert agents[p.email]["status"] == "pushed", agents[p.email]
    for p in DISABLED:
        assert agents[p.email]["codes"] == ["MEGALIS_ACCOUNT_DISABLED"], agents[p.email]
    for p in MISSING:
        assert agents[p.email]["codes"] == ["MEGALIS_ACCOUNT_NOT_FOUND"], agents[p.email]
    assert len(after) == len(before)  # no account created without --create-missing
    assert code == ExitCode.FINDINGS

    # A second run, even from a fresh state file, reads the platform and writes nothing.
    code, agents = w.run(state="fresh.sqlite")
    assert _records(w.sandbox) == after
    assert {agents[p.email]["status"] for p in ACTIVE} == {"unchanged"}

    # --create-missing on a complete listing creates exactly the missing agents, once.
    code, agents = w.run("--create-missing", "--full")
    created = _records(w.sandbox)
    new = {i: r for i, r in created.items() if i not in after}
    assert sorted(str(r["email"]) for r in new.values()) == sorted(p.email for p in MISSING)
    for record in new.values():
        assert _sha(record) == w.sha[str(record["email"])]
        # …each in its own organisation (socle, Pastell: by SIREN; S²LOW: authority_id).
        org = next(p.org for p in MISSING if p.email == record["email"])
        where = {"socle": "organism", "s2low": "authority_id", "pastell": "id_e"}[w.platform]
        wanted = "1" if w.platform == "s2low" else w.org_ids()[org]
        assert record["extra"][where] == wanted  # type: ignore[index]
    for p in MISSING:
        assert "MEGALIS_ACCOUNT_CREATED" in agents[p.email]["codes"], agents[p.email]
    _assert_only_certificates_changed(w, after, created, set())
    emails = [str(r["email"]).casefold() for r in created.values()]
    assert len(emails) == len(set(emails))  # never a duplicate
    # …and again: nothing more is created or written.
    w.run("--create-missing", "--full")
    assert _records(w.sandbox) == created


def test_listing_with_a_gap_creates_nothing(world: World) -> None:
    w = world
    w.break_listing()
    before = _records(w.sandbox)
    code, agents = w.run("--create-missing")
    after = _records(w.sandbox)
    assert code == ExitCode.FINDINGS
    assert set(after) == set(before)  # nothing created
    for p in MISSING:
        assert agents[p.email]["codes"] == ["MEGALIS_LISTING_INCOMPLETE"], agents[p.email]
    # What was listed is still pushed, nothing else changes.
    pushed = {e for e, a in agents.items() if a["status"] == "pushed"}
    assert pushed and pushed < {p.email for p in ACTIVE}
    _assert_only_certificates_changed(w, before, after, pushed)
    for p in DISABLED:
        assert agents[p.email]["status"] != "pushed"


def test_only_one_agent_writes_exactly_that_one(world: World) -> None:
    w = world
    chosen = ACTIVE[4]  # Joël L'Helgouac'h
    before = _records(w.sandbox)
    code, agents = w.run("--only", chosen.email.upper())
    assert code == ExitCode.FINDINGS  # the disabled and missing agents are still reported
    _assert_only_certificates_changed(w, before, _records(w.sandbox), {chosen.email})
    assert agents[chosen.email]["status"] == "pushed"
    others = [p for p in ACTIVE if p is not chosen]
    assert {agents[p.email]["status"] for p in others} == {"would_push"}


def test_check_names_identity_and_organisations_with_counts(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    w = world
    before = _records(w.sandbox)
    # The roster's SIRENs lead a functional administrator of the socle to its organisations.
    assert w.check("--roster", str(w.roster)) == ExitCode.OK
    out = capsys.readouterr().out
    assert "connexion réussie, rien n'a été modifié" in out and "Identité :" in out
    expected = {org_id: 0 for org_id in w.org_ids()}
    for p in (*PEOPLE, *BYSTANDERS):
        if p.state != "missing":
            expected[w.org_ids()[p.org]] += 1
    if w.platform == "s2low":
        expected["1"] += S2LOW_FILLERS
    for org, (org_id, count) in zip(ORGS, expected.items(), strict=True):
        assert f"    - {org.label} ({org_id}) : {count} compte(s)" in out, out
    identity = {
        "socle": "admin@megalis.test (administrateur fonctionnel)",
        "s2low": "administrateur S²LOW (identifiant admin@megalis.test)",
        "pastell": "jeton d'API Pastell (CERTSYNC_TOKEN)",
    }
    assert f"  Identité : {identity[w.platform]}\n" in out
    assert "Modification d'un agent : possible" in out
    assert _records(w.sandbox) == before


def test_check_of_a_functional_socle_administrator_without_sirens_says_what_to_give(
    tmp_path: Path,
    pki: SamplePKI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    w = World("socle", tmp_path, pki)
    try:
        assert w.check() == ExitCode.USAGE
        err = capsys.readouterr().err
        assert "aucun SIREN" in err and "--roster" in err
        assert "droit de modifier" not in err  # the account has the rights: not a 77
    finally:
        w.sandbox.stop()


def test_check_wrong_password_is_77(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CERTSYNC_PASSWORD", "faux")
    monkeypatch.setenv("CERTSYNC_TOKEN", "faux")
    assert world.check() == ExitCode.PLATFORM_AUTH


def test_run_with_a_wrong_password_is_77_and_writes_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CERTSYNC_PASSWORD", "faux")
    monkeypatch.setenv("CERTSYNC_TOKEN", "faux")
    before = _records(world.sandbox)
    code, _ = world.run("--create-missing")
    assert code == ExitCode.PLATFORM_AUTH
    assert _records(world.sandbox) == before


def test_run_against_a_platform_that_went_away_is_69(world: World) -> None:
    world.sandbox.stop()
    code, agents = world.run("--create-missing")
    assert code == ExitCode.PLATFORM_UNAVAILABLE
    assert not any(a["status"] == "pushed" for a in agents.values())


@pytest.mark.parametrize("platform", PLATFORMS)
def test_check_unreachable_is_69(
    platform: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = tmp_path / "c.toml"
    config.write_text(f'[platform]\nname = "{platform}"\nmax_attempts = 1\n', encoding="utf-8")
    code = cli.main(["check", "--config", str(config), "--url", f"http://127.0.0.1:{port}"])
    assert code == ExitCode.PLATFORM_UNAVAILABLE


@pytest.mark.parametrize("platform", ["s2low", "pastell"])
def test_create_missing_without_a_known_place_creates_nothing_and_says_why(
    platform: str, tmp_path: Path, pki: SamplePKI, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    w = World(platform, tmp_path, pki)
    try:
        # Neither authority_id nor entity_id configured.
        w.config.write_text(
            f'[platform]\nname = "{platform}"\nrate_per_second = 0\nmax_attempts = 2\n',
            encoding="utf-8",
        )
        if platform == "pastell":
            app = w.sandbox.app
            assert isinstance(app, PastellApp)
            entity = ORGS[2].pastell  # no entity carries this organisation's SIREN any more
            app.entities[entity] = dataclasses.replace(app.entities[entity], siren="")
        before = _records(w.sandbox)
        _, agents = w.run("--create-missing")
        created = {str(r["email"]): r for i, r in _records(w.sandbox).items() if i not in before}
        if platform == "pastell":
            # The agent whose SIREN names an entity is created there; the other is not.
            assert list(created) == [MISSING[0].email]
            assert created[MISSING[0].email]["extra"]["id_e"] == ORGS[1].pastell  # type: ignore[index]
            refused = [MISSING[1]]
            said = "entity_id n'est pas configuré"
        else:
            assert created == {}
            refused = MISSING
            said = "authority_id n'est pas configuré"
        exceptions = (w.tmp / "r1" / "exceptions.csv").read_text(encoding="utf-8-sig")
        for p in refused:
            assert agents[p.email]["codes"] == ["MEGALIS_REJECTED"]
            assert f"{p.email} inconnue" in exceptions and said in exceptions
    finally:
        w.sandbox.stop()


def test_an_email_two_active_accounts_share_is_never_guessed(world: World) -> None:
    w = world
    shared, renewed = ACTIVE[2], ACTIVE[3]
    w.add_twin(shared, 0, active=True)  # two active accounts: which one is the agent's?
    w.add_twin(renewed, 2, active=False)  # an old disabled account beside the active one
    before = _records(w.sandbox)
    _, agents = w.run("--create-missing")
    after = _records(w.sandbox)
    assert agents[shared.email]["codes"] == ["MEGALIS_ACCOUNT_AMBIGUOUS"], agents[shared.email]
    assert agents[renewed.email]["status"] == "pushed"
    written = {p.email for p in ACTIVE} - {shared.email}
    _assert_only_certificates_changed(w, before, after, written)  # the shared ones untouched
    assert sorted(str(r["email"]) for i, r in after.items() if i not in before) == sorted(
        p.email for p in MISSING
    )  # the ambiguous agent is not "missing": nothing created for it


def test_check_of_an_s2low_administrator_with_no_user_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    config = tmp_path / "c.toml"
    config.write_text('[platform]\nname = "s2low"\n', encoding="utf-8")
    with start_sandbox("s2low", credentials=SandboxCredentials()) as sandbox:
        code = cli.main(["check", "--config", str(config), "--url", sandbox.url])
    err = capsys.readouterr().err
    assert code == ExitCode.USAGE
    assert "aucun compte actif trouvé" in err and "administre des utilisateurs" in err
