"""Socle organisations: discovery (Index, SIREN search or configured) and export of their agents."""

from __future__ import annotations

import csv
import io

from certsync.connectors.htmlform import parse_page
from certsync.connectors.http import protocol_error
from certsync.connectors.interface import Account, AccountListing, Unavailable
from certsync.connectors.listing import AccountCollector
from certsync.connectors.socle_session import (
    EXPORT_FORM,
    EXPORT_PAGE,
    EXPORT_REQUIRED,
    NAME,
    REDIRECTS,
    SEARCH_FORM,
    SEARCH_PAGE,
    Gap,
    Organisation,
    SocleSession,
    account_of_row,
    link_ids,
)
from certsync.errors import PlatformAuthError, PlatformProtocolError


class SocleListing(SocleSession):
    """The organisations this account manages and every agent account they export."""

    def _discover(self) -> list[Organisation]:
        with self._lock:
            if self._organisations is not None:
                return self._organisations
        gaps: list[str] = []
        if self._configured:
            found = [Organisation(o) for o in self._configured]
            identity = "compte configuré pour " + ", ".join(self._configured)
        else:
            response, _ = self._page("/")
            page = self._index_page(response)
            managed = link_ids(page.links, r"/organism/agent/listagents/(\d+)")
            if managed:
                # Index's globalManagerAgentBlock: the administrator's own organism.
                found = [Organisation(managed[0])]
                identity = "administrateur de l'organisme"
            elif any(link.rstrip("/").endswith("organism/search") for link in page.links):
                identity = "administrateur fonctionnel"
                found = self._search(gaps)
            else:
                raise PlatformAuthError(
                    "Ce compte du socle n'administre aucun organisme.",
                    hint="Utilisez le compte d'un administrateur de l'organisme ou d'un "
                    "administrateur fonctionnel de Mégalis.",
                )
        with self._lock:
            self._organisations = found
            self._discovery_gaps = tuple(gaps)
            self._identity = identity
        return found

    def _search(self, gaps: list[str]) -> list[Organisation]:
        if not self._sirens:
            gaps.append(
                "administrateur fonctionnel : aucun SIREN dans la liste des agents pour "
                "retrouver les organismes (ajoutez la colonne SIREN, ou « organisations » "
                "dans la configuration [platform])"
            )
            return []
        found: dict[str, Organisation] = {}
        for siren in self._sirens:
            try:
                for org in self._search_one(siren):
                    found.setdefault(org.id, org)
            except Gap as gap:
                gaps.append(str(gap))
        return list(found.values())

    def _search_one(self, siren: str) -> list[Organisation]:
        _, page = self._page(SEARCH_PAGE)
        form = page.form(SEARCH_FORM) if page is not None else None
        if form is None:
            raise Gap(f"SIREN {siren} : la recherche d'organismes est inaccessible")
        values = {"siren": siren}
        answer = self._post(form, SEARCH_PAGE, values)
        if answer.status_code not in REDIRECTS:
            raise Gap(f"SIREN {siren} : recherche refusée (HTTP {answer.status_code})")
        target = self._where(answer)
        if not target.rstrip("/").endswith("searchresult"):
            return []  # "Aucun organisme ne correspond à cette recherche"
        _, page = self._page(target)
        if page is None:
            raise Gap(f"SIREN {siren} : résultats de recherche illisibles")
        ids = link_ids(page.links, r"/organism/detail(?:organism)?/(\d+)")
        return [Organisation(i, siren=siren) for i in ids]

    # -- listing -------------------------------------------------------------------------
    def _export_csv(self, org: Organisation) -> bytes:
        """The organism's export_agent.csv as the socle sends it (BOM, `;`, quoted)."""
        path = EXPORT_PAGE.format(org=org.id)
        response, page = self._page(path)
        form = page.form(EXPORT_FORM) if page is not None else None
        if form is None:
            why = (
                "redirigé vers l'accueil (organisme inconnu ou droits insuffisants)"
                if response.status_code in REDIRECTS
                else f"pas de formulaire d'export (HTTP {response.status_code})"
            )
            raise Gap(f"organisme {org.id} : {why}")
        answer = self._post(form, path, {})
        if answer.status_code != 200 or "csv" not in answer.headers.get("Content-Type", ""):
            errors = parse_page(answer.text).errors if answer.status_code == 200 else ()
            said = f" : {errors[0]}" if errors else f" (HTTP {answer.status_code})"
            raise Gap(f"organisme {org.id} : export refusé{said}")
        return answer.content

    def _export(self, org: Organisation) -> list[dict[str, str]]:
        text = self._export_csv(org).decode("utf-8-sig", errors="replace")
        reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=";")
        if not reader.fieldnames or not set(EXPORT_REQUIRED) <= set(reader.fieldnames):
            raise protocol_error(NAME, "l'export des agents n'a pas les colonnes attendues")
        return list(reader)

    def export_files(self) -> tuple[dict[str, bytes], tuple[str, ...]]:
        """Each managed organism's export_agent.csv, unchanged (organism id → bytes), and the
        French reasons for the organisms that could not be exported (for `onboarding --url`)."""
        try:
            organisations = self._discover()
        except Unavailable as exc:
            return {}, (f"organismes introuvables : {exc.reason}",)
        gaps = list(self._discovery_gaps)
        exports: dict[str, bytes] = {}
        for org in organisations:
            try:
                exports[org.id] = self._export_csv(org)
            except Gap as gap:
                gaps.append(str(gap))
            except Unavailable as exc:
                gaps.append(f"organisme {org.id} : {exc.reason}")
        return exports, tuple(gaps)

    def listing(self) -> AccountListing:
        """Every organisation's export; an organisation that fails is a gap, the rest is kept."""
        try:
            organisations = self._discover()
        except Unavailable as exc:
            return AccountListing({}, (f"organismes introuvables : {exc.reason}",))
        collected = AccountCollector()
        gaps = list(self._discovery_gaps)
        labelled: list[Organisation] = []
        for org in organisations:
            try:
                rows = self._export(org)
            except Gap as gap:
                gaps.append(str(gap))
                continue
            except Unavailable as exc:
                gaps.append(f"organisme {org.id} : {exc.reason}")
                continue
            first = rows[0] if rows else {}
            labelled.append(
                Organisation(
                    org.id,
                    first.get("organism_label", "") or org.label,
                    first.get("organism_siren", "") or org.siren,
                )
            )
            for row in rows:
                account = account_of_row(row, org.id)
                if account is not None:
                    collected.add(account)
        with self._lock:
            known = {o.id: o for o in labelled}
            self._organisations = [known.get(o.id, o) for o in organisations]
        return collected.listing(gaps)

    def list_accounts(self) -> dict[str, Account]:
        """Every account, or an error when the listing is incomplete.

        Callers of this older entry point cannot see gaps: an agent of an organisation that
        could not be exported would look absent (and be created again with --create-missing).
        `listing()` returns the gaps instead.
        """
        listing = self.listing()
        if listing.gaps:
            raise PlatformProtocolError(
                "Liste des agents du socle incomplète : " + " ; ".join(listing.gaps) + ".",
                hint="Vérifiez les droits du compte sur chaque organisme, ou indiquez les "
                "organismes à traiter (organisations = [...] dans la section [platform]).",
            )
        return listing.accounts
