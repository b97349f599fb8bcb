"""The socle's agent export (`export_agent.csv` per organism, by submitting `agent_export_form`),
as `megalis-bretagne/myec3-socle` (`pages/organism/agent/export/Export`, opencsv `CSVWriter`)
writes it."""

from __future__ import annotations

import csv
import io
from typing import Any

from certsync.sandbox.forms import parse_pairs
from certsync.sandbox.server import Request, Response
from certsync.sandbox.socle.agent_form import CIVILITIES
from certsync.sandbox.socle.data import SocleData
from certsync.sandbox.socle.layout import Control, Session, html_page, redirect
from certsync.sandbox.store import SandboxAccount

EXPORT_HEADER = (
    "user_id;user_last_connection_date;user_mean_time_betweenTwoConnections;user_nbConnections;"
    "user_civility;user_firstname;user_lastname;user_username;user_connectionAttempts;profil_id;"
    "profil_externalId;profil_technicalIdentifier;profil_canton;profil_city;profil_country;"
    "profil_postalAddress;profil_postalCode;profil_cellPhone;profil_email;profil_enabled;"
    "profil_fax;profil_function;profil_grade;profil_phone;agent_profil_creation_date;"
    "agent_profil_elected;agent_profil_executive;agent_profil_representative;"
    "agent_profil_substitute;agent_profil_role_S2low;agent_profil_role_Pastell;"
    "organism_department_id;organism_department_label;organism_id;organism_label;"
    "organism_siren;organism_nic"
).split(";")

EXTRA_COLUMNS = (
    # export column, SandboxAccount.extra key it shows, value when the key is absent
    ("user_username", "username", ""),
    ("profil_technicalIdentifier", "technicalIdentifier", ""),
    ("profil_canton", "canton", ""),
    ("profil_city", "city", ""),
    ("profil_country", "country", ""),
    ("profil_postalAddress", "postalAddress", ""),
    ("profil_postalCode", "postalCode", ""),
    ("profil_cellPhone", "cellPhone", ""),
    ("profil_enabled", "profil_enabled", "true"),
    ("profil_fax", "fax", ""),
    ("profil_function", "function", ""),
    ("profil_grade", "grade", ""),
    ("profil_phone", "phone", ""),
    ("agent_profil_elected", "elected", "false"),
    ("agent_profil_executive", "executive", "false"),
    ("agent_profil_representative", "representative", "false"),
    ("agent_profil_substitute", "substitute", "false"),
)


class ExportPages(SocleData):
    """The Export page and its CSV answer."""

    def _export_page(self, request: Request, session: Session, groups: tuple[str, ...]) -> Response:
        org_id = groups[0]
        if not org_id or org_id not in self.organisations:
            return redirect("/")
        if not self._may_manage(session, org_id):
            return redirect("/")
        controls = [Control("submit_0", "submit")]
        body = (
            "<h2>Exporter des utilisateurs</h2>"
            + self.form_open(
                "agent_export_form",
                "/organism/agent/export/export.agent_export_form",
                "organism/agent/export/Export",
                controls,
                org_id,
            )
            + '<fieldset class="import"><legend>Faire un nouvel export</legend>'
            '<div id="divSubmit" class="form-actions"><p><input type="submit" name="submit_0" '
            'data-submit-mode="normal" id="submit_0" value="Exporter le fichier"></p></div>'
            "</fieldset></form>"
        )
        return html_page("Exporter des utilisateurs", body)

    def _export_submit(
        self, request: Request, session: Session, groups: tuple[str, ...]
    ) -> Response:
        pairs = parse_pairs(request)
        org_id = dict(pairs).get("t:ac", "")
        if not org_id or org_id not in self.organisations or not self._may_manage(session, org_id):
            return redirect("/")
        posted = self.submitted(request, "organism/agent/export/Export")
        if isinstance(posted, Response):
            return posted
        return self._csv(org_id)

    def _csv(self, org_id: str) -> Response:
        org = self.organisations[org_id]
        out = io.StringIO()
        # opencsv's CSVWriter(sw, ';'): every value quoted, quotes doubled, "\n" line ends.
        writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(EXPORT_HEADER)
        with self.store.lock:
            agents = [
                a
                for a in self.store.accounts.values()
                if a.extra.get("organism") == org_id and a.extra.get("profil_enabled") == "true"
            ]
            for a in agents:
                row = _export_row(org_id, org, a)
                writer.writerow([row[h] for h in EXPORT_HEADER])
        body = ("\ufeff" + out.getvalue()).encode("utf-8")
        headers = [("Content-Disposition", "attachment; filename=export_agent.csv")]
        return Response(200, body, "text/csv", headers)


def _export_row(org_id: str, org: dict[str, Any], a: SandboxAccount) -> dict[str, str]:
    """One agent's line of export_agent.csv, by column name."""
    x = a.extra
    dept = x.get("organismDepartment", "")
    row = dict.fromkeys(EXPORT_HEADER, "")
    row.update({column: x.get(key, absent) for column, key, absent in EXTRA_COLUMNS})
    row.update(
        user_id=x.get("user_id", a.id),
        user_civility=dict(CIVILITIES).get(x.get("civility", ""), ""),
        user_firstname=a.prenom,
        user_lastname=a.nom,
        user_connectionAttempts="0",
        profil_id=a.id,
        profil_email=a.email,
        organism_department_id=dept,
        organism_department_label=org["departments"].get(dept, ""),
        organism_id=org_id,
        organism_label=org["label"],
        organism_siren=org["siren"],
    )
    return row
