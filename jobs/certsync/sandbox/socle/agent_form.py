"""The agent form (`components/AgentForm.tml`, `AgentForm.onValidate`) shared by the Modify and
Create pages: its controls, options, rendering, validation and the fields a submission writes, as
`megalis-bretagne/myec3-socle` declares them."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping

from certsync.connectors.pem import SOCLE_CERTIFICATE_RE
from certsync.sandbox.socle.data import SocleData
from certsync.sandbox.socle.layout import REGEX_MESSAGE, USERNAME_TAKEN, Control, Session, alert
from certsync.sandbox.store import SandboxAccount

SELECTED = ' selected="selected"'
CIVILITIES = (("MR", "M."), ("MRS", "Mme"))
GRADES = (("DEPUTEE", "la Députée"), ("DIRECTRICE_ADJOINTE", "la Directrice adjointe"))
COUNTRIES = (("FR", "France"), ("AD", "Andorre"))
MEDIA = (("EMAIL", "Courriel"), ("POST", "Courrier Postal"))
REQUIRED_LABELS = {
    "firstname": "Le champ 'Prénom' est obligatoire",
    "lastname": "Le champ 'Nom' est obligatoire",
    "email": "Le champ 'Email' est obligatoire",
    "username": "Le champ 'Identifiant' est obligatoire",
}
LABELS = {
    "civility": "Civilité",
    "organismDepartment": "Niveau",
    "country": "Pays",
    "postalAddress": "Adresse",
    "postalCode": "Code postal",
    "city": "Ville",
}
REGEXPS = {
    "email": (
        r"^[a-zA-Z0-9._%+-]+@([a-zA-Z0-9-.]+)(\.[a-zA-Z]{2,63})$",
        "Syntaxe de l'adresse mail est incorrecte",
    ),
    "phone": (r"^[0-9]{10}$", "Le numéro de téléphone doit être composé de 10 chiffres"),
    "cellPhone": (
        r"^[0-9]{10}$",
        "Le numéro de téléphone portable doit être composé de 10 chiffres",
    ),
    "fax": (r"^[0-9]{10}$", "Le numéro de fax doit être composé de 10 chiffres"),
    "postalCode": (r"^[0-9]{5}$", "Le code postal doit être composé de 5 chiffres"),
}
AGENT_FORMS = {
    # page → (form action, Tapestry page name, Errors banner)
    "modify": (
        "/organism/agent/modify.agent_form.modification_form",
        "organism/agent/Modify",
        "Erreur lors de la modification de l'utilisateur",
    ),
    "create": (
        "/organism/agent/create.agent_form.modification_form",
        "organism/agent/Create",
        "Erreur lors de la création de l'utilisateur",
    ),
}


class AgentForm(SocleData):
    """The agent form as Modify and Create render, validate and store it."""

    def _agent_controls(self, session: Session) -> list[Control]:
        controls = [
            Control("civility", "select", True),
            Control("firstname", "text", True),
            Control("lastname", "text", True),
            Control("technicalIdentifier", "text"),
            Control("elected", "checkbox"),
        ]
        if self.managed(session.username) is None:
            # <t:if test="isAdmin">: only a functional/technical administrator sees these.
            controls += [
                Control(n, "checkbox") for n in ("executive", "representative", "substitute")
            ]
        controls += [
            Control("grade", "select"),
            Control("function", "text"),
            Control("organismDepartment", "select", True),
            Control("country", "select", True),
            Control("postalAddress", "text", True),
            Control("postalCode", "text", True),
            Control("city", "text", True),
            Control("canton", "text"),
            Control("email", "text", True),
            Control("cellPhone", "text"),
            Control("phone", "text"),
            Control("fax", "text"),
            Control("certificate", "textarea"),
            Control("checkCertificate", "submit"),
            Control("prefComMedia", "select", True),
            Control("submit_0", "submit"),
        ]
        return controls

    def _options(self, name: str, org_id: str) -> tuple[tuple[str, str], ...]:
        if name == "civility":
            return CIVILITIES
        if name == "grade":
            return (("", "Non renseignée"), *GRADES)
        if name == "country":
            return COUNTRIES
        if name == "prefComMedia":
            return MEDIA
        departments: dict[str, str] = self.organisations[org_id]["departments"]
        return tuple(departments.items())

    def _agent_form(
        self,
        session: Session,
        *,
        kind: str,
        context: str,
        org_id: str,
        values: Mapping[str, str | None],
        errors: list[str],
    ) -> str:
        """The form inside Modify or Create (`kind`), showing `values` and `errors`."""
        action, page, banner = AGENT_FORMS[kind]
        controls = self._agent_controls(session)
        parts = [
            '<p class="mandatory">Les champs marqués d\'un * sont obligatoires</p>',
            self.form_open("modification_form", action, page, controls, context),
            alert(banner, errors),
            "<fieldset><legend>Coordonnées de l'utilisateur</legend>",
        ]
        parts += (self._control_html(c, values.get(c.name) or "", org_id) for c in controls)
        parts.append("</fieldset></form>")
        return "".join(parts)

    def _control_html(self, control: Control, value: str, org_id: str) -> str:
        """One control of the form as Tapestry renders its component."""
        name = control.name
        label = f'<label for="{name}">{html.escape(LABELS.get(name, name))}</label>'
        if control.kind == "text":
            return (
                f'<p>{label}<input id="{name}" name="{name}" type="text" '
                f'value="{html.escape(value, quote=True)}"></p>'
            )
        if control.kind == "checkbox":
            checked = ' checked="checked"' if value == "true" else ""
            return f'<p>{label}<input type="checkbox" name="{name}" id="{name}"{checked}></p>'
        if control.kind == "select":
            options = "".join(
                f'<option value="{v}"{SELECTED if v == value else ""}>{html.escape(text)}</option>'
                for v, text in self._options(name, org_id)
            )
            return f'<p>{label}<select name="{name}" id="{name}">{options}</select></p>'
        if control.kind == "textarea":
            # TextArea.afterRender writes the value right after the tag, no newline.
            return f'<p>{label}<textarea name="{name}" id="{name}">{html.escape(value)}</textarea>'
        if name == "checkCertificate":
            return (
                '<input type="submit" name="checkCertificate" data-submit-mode="normal" '
                'class="button btnOk" id="checkCertificate" value="Vérifier le certificat"></p>'
            )
        return (
            '<div class="form-actions"><p><input type="submit" name="submit_0" '
            'data-submit-mode="normal" class="button btnOk" id="submit_0" '
            'value="Enregistrer"><input type="reset" value="Annuler" id="cancelButton">'
            "</p></div>"
        )

    @staticmethod
    def _values(account: SandboxAccount) -> dict[str, str | None]:
        values: dict[str, str | None] = dict(account.extra)
        values.update(
            firstname=account.prenom,
            lastname=account.nom,
            email=account.email,
            certificate=account.certificate,
        )
        return values

    def _validate(
        self, values: dict[str, str | None], controls: list[Control], account: SandboxAccount | None
    ) -> list[str]:
        """The controls' validators, the certificate regex, then AgentForm.onValidate."""
        errors = _field_errors(values, controls)
        email = values.get("email")
        if email and not errors and self._email_is_username(email, account):
            errors.append(USERNAME_TAKEN)
        return errors

    def _email_is_username(self, email: str, account: SandboxAccount | None) -> bool:
        """AgentForm.onValidate: profileService.usernameAlreadyExists(email, agentProfile)."""
        with self.store.lock:
            taken = any(
                a.extra.get("username", "").casefold() == email.casefold()
                and (account is None or a.id != account.id)
                for a in self.store.accounts.values()
            )
        username = account.extra.get("username") if account else None
        return taken and (not username or username == email)

    def _store_values(self, account: SandboxAccount, values: dict[str, str | None]) -> None:
        # Only controls the form rendered (and so listed in t:formdata) are written.
        for name, value in values.items():
            if name in {"submit_0", "checkCertificate"}:
                continue
            if name == "firstname":
                account.prenom = value or ""
            elif name == "lastname":
                account.nom = value or ""
            elif name == "email":
                account.email = value or ""
            elif name == "certificate":
                if value != account.certificate:
                    account.writes += 1 if value is not None else 0
                    account.deletions += 1 if value is None and account.certificate else 0
                account.certificate = value
            else:
                account.extra[name] = value or ""


def _field_errors(values: dict[str, str | None], controls: list[Control]) -> list[str]:
    """Each control's `required` and regexp validators, then the certificate's pattern."""
    errors = []
    for control in controls:
        value = values.get(control.name)
        if control.required and value is None:
            label = LABELS.get(control.name, control.name)
            errors.append(
                REQUIRED_LABELS.get(control.name) or f"Vous devez fournir une valeur pour {label}."
            )
        elif value is not None and control.name in REGEXPS:
            pattern, message = REGEXPS[control.name]
            if not re.fullmatch(pattern, value):
                errors.append(message)
    certificate = values.get("certificate")
    if certificate is not None and not SOCLE_CERTIFICATE_RE.fullmatch(certificate):
        errors.append(REGEX_MESSAGE)
    return errors
