"""The Keycloak Tomcat adapter in front of the socle (302 to the SSO, `checkStateCookie`, code
exchange, JSESSIONID, Bearer tokens) and Tapestry's page dispatch, as `keycloak/keycloak`
(`OAuthRequestAuthenticator`) and `apache/tapestry-5` 5.8.2 behave."""

from __future__ import annotations

import re
import secrets
import urllib.parse

from certsync.sandbox.keycloak import auth_url
from certsync.sandbox.server import Request, Response
from certsync.sandbox.socle.data import SocleData
from certsync.sandbox.socle.layout import Session, redirect

STATE_COOKIE = "OAuth_Token_Request_State"


class SocleAdapter(SocleData):
    """The adapter's login dance and session lookup, then the route table."""

    def handle(self, request: Request) -> Response:
        """The Keycloak adapter in front, then Tapestry's page dispatch."""
        cookies = _cookies(request)
        auth = request.headers.get("authorization", "")
        if auth.startswith("Bearer "):
            user = self.keycloak.token_user(auth[7:].strip())
            if user is None:
                return Response(401, b"", headers=[("WWW-Authenticate", 'Bearer realm="megalis"')])
            # The bearer authenticates each request; Tapestry's @Persist fields still live
            # in an HTTP session, which the container opens and names in JSESSIONID.
            with self._lock:
                session = self.sessions.get(cookies.get("JSESSIONID", ""))
                if session is not None and session.username == user:
                    return self._dispatch(request, session)
                session_id = secrets.token_hex(16).upper()
                session = self.sessions[session_id] = Session(user)
            response = self._dispatch(request, session)
            response.headers.append(("Set-Cookie", f"JSESSIONID={session_id}; Path=/; HttpOnly"))
            return response
        with self._lock:
            session = self.sessions.get(cookies.get("JSESSIONID", ""))
        if session is not None:
            return self._dispatch(request, session)
        here = self._url(request)
        if request.arg("code"):
            return self._callback(request, cookies)
        state = f"{secrets.randbelow(10**6)}/{secrets.token_hex(16)}"
        return redirect(
            auth_url(self.keycloak.base_url, here, state),
            f"{STATE_COOKIE}={state}; Path=/; HttpOnly",
        )

    @staticmethod
    def _url(request: Request, *, strip_oauth: bool = False) -> str:
        host = request.headers.get("host", "127.0.0.1")
        pairs = [(k, v) for k, vs in request.query.items() for v in vs]
        if strip_oauth:
            pairs = [(k, v) for k, v in pairs if k not in {"code", "state", "session_state"}]
        query = urllib.parse.urlencode(pairs)
        return f"http://{host}{request.path}" + (f"?{query}" if query else "")

    def _callback(self, request: Request, cookies: dict[str, str]) -> Response:
        # OAuthRequestAuthenticator.checkStateCookie, then the code exchange.
        if cookies.get(STATE_COOKIE) != request.arg("state"):
            return Response(400, b"<html><body>Bad Request</body></html>", "text/html")
        stripped = self._url(request, strip_oauth=True)
        user = self.keycloak.exchange_code(request.arg("code"), stripped)
        if user is None or user not in self.admins:
            return Response(403, b"<html><body>Forbidden</body></html>", "text/html")
        session_id = secrets.token_hex(16).upper()
        with self._lock:
            self.sessions[session_id] = Session(user)
        return redirect(
            stripped,
            f"JSESSIONID={session_id}; Path=/; HttpOnly",
            f"{STATE_COOKIE}=; Path=/; Max-Age=0",
        )

    def _dispatch(self, request: Request, session: Session) -> Response:
        for method, pattern, handler in self.routes:
            if method == request.method:
                found = pattern.fullmatch(request.path)
                if found:
                    groups = tuple(g or "" for g in found.groups())
                    return handler(request, session, groups)
        # Tapestry: a path naming no page renders the start page with its own context.
        return self.start_page(request, session, ())


def _cookies(request: Request) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in re.findall(r"([\w.-]+)=([^;]*)", request.headers.get("cookie", "")):
        out.setdefault(name, value)
    return out
