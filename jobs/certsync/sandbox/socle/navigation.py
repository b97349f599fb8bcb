"""The socle's Index, organism search, search result, organism detail and agent list pages, as
`megalis-bretagne/myec3-socle` (`pages/Index`, `pages/organism/Search`, `SearchResult`, `Detail`,
`pages/organism/agent/ListAgents` and `JpaOrganismDao.findAllByCriteria`) renders them."""

from __future__ import annotations

import html

from certsync.sandbox.server import Request, Response
from certsync.sandbox.socle.data import SocleData
from certsync.sandbox.socle.layout import Control, Session, html_page, redirect


class NavigationPages(SocleData):
    """The pages an administrator walks through to reach an organism and its agents."""

    def _index(self, request: Request, session: Session, groups: tuple[str, ...]) -> Response:
        flash = session.flash.pop("index", "")
        message = f'<p class="success">{html.escape(flash)}</p>' if flash else ""
        managed = self.managed(session.username)
        if managed is None:
            body = (
                "<h2>Accueil</h2><fieldset><legend>Bienvenue sur l'administration des "
                "organismes et entreprises</legend></fieldset>"
                '<ul class="links"><li><a href="./organism/create/">Créer un organisme</a></li>'
                '<li><a href="./organism/search/">Rechercher un organisme</a></li></ul>'
            )
            return html_page("Accueil", message + body)
        org = self.organisations[managed]
        label = html.escape(org["label"])
        # Index.tml's globalManagerAgentBlock, with Index.properties' French labels.
        body = (
            "<h2>Accueil</h2><fieldset><legend>Bienvenue sur l'administration de votre entité"
            f"</legend><p>Cet espace est dédié à l'administration de  {label} . Voici un aperçu "
            "des différentes actions réalisables.</p></fieldset>"
            f'<div id="search-intro" class="section"><h3>Gérer les coordonnées de {label}</h3>'
            f'<ul class="links"><li><a href="/organism/detail/{managed}">Gérer les coordonnées'
            "</a></li></ul></div>"
            '<div id="account-intro" class="section"><h3>Gérer les utilisateurs</h3>'
            f'<ul class="links"><li><a href="/organism/agent/listagents/{managed}">Liste des '
            'agents</a></li><li><a href="./user/search/">Rechercher un utilisateur</a></li>'
            f'<li><a href="/organism/agent/export/import/{managed}">Importer des utilisateurs'
            "</a></li></ul></div>"
            '<div id="account-intro" class="section"><h3>Créer un nouvel utilisateur</h3>'
            f'<ul class="links"><li><a href="/organism/agent/create/{managed}/{org["root"]}">'
            "Créer un nouvel utilisateur</a></li></ul></div>"
        )
        return html_page("Accueil", message + body)

    def _search_page(self, request: Request, session: Session, groups: tuple[str, ...]) -> Response:
        controls = [Control(n, "text") for n in ("organism", "siren", "postalCode", "city")]
        controls.append(Control("submit_0", "submit"))
        info = session.flash.pop("search", "")
        fields = "".join(
            f'<label for="{c.name}">{c.name}</label>'
            f'<input id="{c.name}" name="{c.name}" type="text" value="">'
            for c in controls[:-1]
        )
        body = (
            "<h2>Rechercher un organisme</h2>"
            + (f'<p class="infoDialogue">{html.escape(info)}</p>' if info else "")
            + self.form_open(
                "organism_search_form",
                "/organism/search.organism_search_form",
                "organism/Search",
                controls,
                "",
            )
            + f'<fieldset>{fields}<input type="submit" name="submit_0" id="submit_0" '
            'value="Rechercher"></fieldset></form>'
        )
        return html_page("Rechercher un organisme", body)

    def _search_submit(
        self, request: Request, session: Session, groups: tuple[str, ...]
    ) -> Response:
        posted = self.submitted(request, "organism/Search")
        if isinstance(posted, Response):
            return posted
        values, _ = posted
        label, siren = values.get("organism") or "", values.get("siren") or ""
        postal, city = values.get("postalCode") or "", values.get("city") or ""
        if not (label or siren or postal or city):
            session.flash["search"] = (
                "Vous devez renseigner au moins un critère de recherche (Nom, SIREN, code "
                "postal ou commune)"
            )
            return redirect("/organism/search")
        # JpaOrganismDao.findAllByCriteria: label like %x% (upper), siren like x%.
        found = [
            org_id
            for org_id, org in sorted(self.organisations.items())
            if self._may_manage(session, org_id)
            and (not label or label.upper() in org["label"].upper())
            and (not siren or org["siren"].startswith(siren))
            and not postal
            and not city
        ]
        if not found:
            session.flash["search"] = "Aucun organisme ne correspond à cette recherche"
            return redirect("/organism/search")
        session.search_results = found
        return redirect("/organism/searchresult")

    def _search_result(
        self, request: Request, session: Session, groups: tuple[str, ...]
    ) -> Response:
        if session.search_results is None:
            return redirect("/")
        rows = "".join(
            f'<tr><td class="label"><a href="/organism/detail/{o}">'
            f"{html.escape(self.organisations[o]['label'])}</a></td>"
            f'<td class="siren">{self.organisations[o]["siren"]}</td></tr>'
            for o in session.search_results
        )
        body = (
            f"<h2>Résultats de la recherche</h2><p>Nombre de résultats : "
            f"<strong>{len(session.search_results)}</strong></p>"
            f'<table class="t-data-grid"><tbody>{rows}</tbody></table>'
        )
        return html_page("Résultats", body)

    def _organism_detail(
        self, request: Request, session: Session, groups: tuple[str, ...]
    ) -> Response:
        org_id = groups[0]
        if org_id not in self.organisations or not self._may_manage(session, org_id):
            return redirect("/")
        org = self.organisations[org_id]
        body = (
            f"<h2>{html.escape(org['label'])}</h2><p>SIREN : {org['siren']}</p>"
            f'<ul class="tabs"><li><a href="/organism/agent/listagents/{org_id}">'
            "Utilisateurs</a></li></ul>"
        )
        return html_page(org["label"], body)

    def _list_agents(self, request: Request, session: Session, groups: tuple[str, ...]) -> Response:
        org_id = groups[0]
        if org_id not in self.organisations or not self._may_manage(session, org_id):
            return redirect("/")
        org = self.organisations[org_id]
        with self.store.lock:
            count = sum(
                1 for a in self.store.accounts.values() if a.extra.get("organism") == org_id
            )
        body = (
            f"<h2>Liste des agents</h2><p>Nombre de résultats : <strong>{count}</strong></p>"
            f'<ul><li><a href="/organism/agent/export/export/{org_id}">Exporter la liste des '
            "utilisateurs</a></li>"
            f'<li><a href="/organism/agent/export/import/{org_id}">Importer une liste '
            "d'utilisateurs</a></li>"
            f'<li><a href="/organism/agent/create/{org_id}/{org["root"]}">Créer un '
            "utilisateur</a></li></ul>"
        )
        return html_page("Liste des agents", body)
