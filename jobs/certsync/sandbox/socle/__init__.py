"""Stand-in for the MyEc3 socle (Tapestry 5.8.2) behind its Keycloak adapter.

Written from `megalis-bretagne/myec3-socle` and `apache/tapestry-5` 5.8.2; every behaviour is
listed with its source in docs/platforms/socle.md. In short: every page needs a session set up
by the Keycloak adapter (302 to the SSO, back with `code`, JSESSIONID, 302 to the page first
asked) or a Bearer token; Index shows an organism administrator its organism and a functional
administrator the organism search; the agent list is exported per organism by submitting
`agent_export_form`; Tapestry forms carry a signed `t:formdata` listing the controls they
rendered, the page activation context in `t:ac`, and the save button as `submit_0`; a control
absent from a submission is stored as null (or false), a validation error re-renders the page
(200, Bootstrap alert), a success redirects (302); a disabled agent's Modify page redirects to
View; an unknown path renders Index (200).


Modules, by concern: `layout` (messages, page layout, session), `tapestry` (signed `t:formdata`),
`data` (organisations, agents, rights), `adapter` (Keycloak adapter, dispatch), `navigation`
(Index, search, lists), `export`, `agent_form` and `agents` (Modify, Create, View), `app`
(`SocleApp` and its route table, which other modules extend with `add_route`), and the importer
(`import_rules`, `import_pages`, `import_lists`).
"""

from certsync.sandbox.socle.app import SocleApp
from certsync.sandbox.socle.data import AUTO, EXTRA_DEFAULTS, SocleData
from certsync.sandbox.socle.export import EXPORT_HEADER
from certsync.sandbox.socle.layout import (
    DISABLED_SUFFIX,
    FORMDATA_ERROR,
    NO_CERTIFICATE,
    REGEX_MESSAGE,
    SUCCESS_MESSAGE,
    TAMPERED,
    USERNAME_TAKEN,
    Control,
    Handler,
    Session,
    alert,
    error_page,
    html_page,
    redirect,
)

__all__ = [
    "AUTO",
    "DISABLED_SUFFIX",
    "EXPORT_HEADER",
    "EXTRA_DEFAULTS",
    "FORMDATA_ERROR",
    "NO_CERTIFICATE",
    "REGEX_MESSAGE",
    "SUCCESS_MESSAGE",
    "TAMPERED",
    "USERNAME_TAKEN",
    "Control",
    "Handler",
    "Session",
    "SocleApp",
    "SocleData",
    "alert",
    "error_page",
    "html_page",
    "redirect",
]
