"""The sandbox socle as one application: the Keycloak adapter, its pages and its data, routed as
`megalis-bretagne/myec3-socle` names its Tapestry pages (see docs/platforms/socle.md)."""

from __future__ import annotations

from certsync.sandbox.server import SandboxCredentials
from certsync.sandbox.socle.adapter import SocleAdapter
from certsync.sandbox.socle.agents import AgentPages
from certsync.sandbox.socle.export import ExportPages
from certsync.sandbox.socle.navigation import NavigationPages
from certsync.sandbox.store import Store


class SocleApp(AgentPages, ExportPages, NavigationPages, SocleAdapter):
    """The socle's pages, its Keycloak adapter and its data (organisations, agents)."""

    def __init__(self, store: Store, credentials: SandboxCredentials) -> None:
        super().__init__(store, credentials)
        self.start_page = self._index
        for method, pattern, handler in (
            ("GET", r"/?", self._index),
            ("GET", r"/organism/search/?", self._search_page),
            ("POST", r"/organism/search\.organism_search_form", self._search_submit),
            ("GET", r"/organism/searchresult/?", self._search_result),
            ("GET", r"/organism/detail/(\d+)", self._organism_detail),
            ("GET", r"/organism/agent/listagents/(\d+)", self._list_agents),
            ("GET", r"/organism/agent/export/export(?:/(\d+))?/?", self._export_page),
            ("POST", r"/organism/agent/export/export\.agent_export_form", self._export_submit),
            ("GET", r"/organism/agent/modify(?:/(\d+))?/?", self._modify_page),
            ("POST", r"/organism/agent/modify\.agent_form\.modification_form", self._modify_post),
            ("GET", r"/organism/agent/create/(\d+)/(\d+)", self._create_page),
            ("POST", r"/organism/agent/create\.agent_form\.modification_form", self._create_post),
            ("GET", r"/organism/agent/view/(\d+)", self._view),
            ("GET", r"/organism/agent/modifyroles/(\d+)", self._modify_roles),
        ):
            self.add_route(method, pattern, handler)
        # The CSV importer's pages (pages/organism/agent/export: Import, Report, CreateList,
        # Create, ModifyList, DeleteList) register their routes on this app; imported here
        # because that module builds on this one.
        from certsync.sandbox.socle.import_lists import ImportPages

        self.imports = ImportPages(self)
