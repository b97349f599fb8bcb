"""The content rules of matching, in the policy's order: e-mail, name in the organisation, near."""

from __future__ import annotations

from collections.abc import Iterable

from certsync.findings import Code
from certsync.match.certname import CertName, Org, cert_org, cert_sirens, org_relation, roster_org
from certsync.match.holds import who, who_why
from certsync.match.records import Method, Verdict
from certsync.match.roster import rows_of, unique
from certsync.match.signals import FUZZY_MARGIN, Signals
from certsync.records import Agent, CertInfo


def held_verdict(code: Code, agents: Iterable[Agent], method: Method, **params: str) -> Verdict:
    """A verdict that holds the file, naming these agents as the candidates."""
    return Verdict(tuple(unique(agents)), method, hold=code, params=params)


class ContentRules(Signals):
    """The content rules, in the policy's order: what the certificate alone designates."""

    def _email_rule(self, info: CertInfo, name: CertName) -> Verdict | None:
        """Rule 3: the certificate's e-mail is a row's, and its name does not contradict it."""
        rows = self._by_email(info)
        if not rows:
            return None
        fitting = [(a, why) for a in rows if (why := self.fit(info, name, a))]
        if len(fitting) == 1:
            agent, why = fitting[0]
            return Verdict((agent,), Method.EMAIL, checked=(f"nom du certificat : {why}",))
        if fitting:
            return held_verdict(
                Code.MATCH_AMBIGUOUS,
                (a for a, _ in fitting),
                Method.EMAIL,
                candidates=who_why([(a, f"même e-mail, {w}") for a, w in fitting]),
            )
        named = [a for a in self.exact(name) if a.row not in rows_of(rows)]
        side = f" ; ce nom est celui de {who(named)}" if named else ""
        return held_verdict(
            Code.MATCH_EMAIL_NAME_MISMATCH,
            [*rows, *named],
            Method.EMAIL,
            email=", ".join(info.emails),
            email_agent=who(rows),
            name_side=side,
        )

    def _name_rule(self, info: CertInfo, name: CertName) -> Verdict | None:
        """Rules 4–5: the exact name, or a roster e-mail spelling it, in the organisation."""
        same = [(a, "nom identique, même organisme") for a in self.exact_in_org(info, name)]
        exact_rows = rows_of(a for a, _ in same)
        # A roster e-mail that spells the certificate's name and not the row's own name (birth
        # name, typo in the roster) is evidence too; when it spells the row's own name, it
        # says nothing more than the row's name already does. Against an exact name, it must
        # spell the whole first name to make a tie.
        same += [
            (a, "nom écrit par son e-mail, même organisme")
            for a in self.spelled(
                name, exact_rows, whole=bool(exact_rows), sirens=cert_sirens(info)
            )
            if org_relation(info, a) is Org.SAME and not self.spells_own_name(a)
        ]
        if len(same) == 1:
            agent, _ = same[0]
            method = Method.NAME_ORG if agent.row in exact_rows else Method.EMAIL_LOCAL
            return Verdict((agent,), method, checked=("aucun autre candidat dans l'organisme",))
        if same:
            return held_verdict(
                Code.MATCH_AMBIGUOUS,
                (a for a, _ in same),
                Method.NAME_ORG,
                candidates=who_why(same),
            )
        exact = self.exact(name)
        unknown = [a for a in exact if org_relation(info, a) is Org.UNKNOWN]
        if len(unknown) == 1 and len(exact) == 1:
            checked = ("seul agent de ce nom dans la liste", "organisme non comparable")
            return Verdict((unknown[0],), Method.NAME, checked=checked)
        if unknown:
            pairs = [(a, f"nom identique, organisme {roster_org(a)}") for a in exact]
            return held_verdict(Code.MATCH_AMBIGUOUS, exact, Method.NAME, candidates=who_why(pairs))
        return None

    def _near_rule(self, info: CertInfo, name: CertName) -> Verdict | None:
        """Rule 6: a near name in the organisation, unless a roster e-mail or namesake says no."""
        found, score, method = self._fuzzy(name, self._block(info, name.ordered))
        if not found:
            return None
        if method is Method.REVIEW or len(found) > 1:
            pairs = [(a, f"{method}, meilleur score {score:.0f}/100") for a in found]
            return held_verdict(Code.MATCH_AMBIGUOUS, found, method, candidates=who_why(pairs))
        agent = found[0]
        elsewhere = self.exact(name)
        if elsewhere:
            pairs = [(agent, f"{method}, même organisme")]
            pairs += [(a, f"nom identique, organisme {roster_org(a)}") for a in elsewhere]
            return held_verdict(
                Code.MATCH_AMBIGUOUS, [agent, *elsewhere], method, candidates=who_why(pairs)
            )
        if method is Method.FUZZY and self.spells_own_name(agent):
            return held_verdict(
                Code.MATCH_NEAR_NAME_CONTRADICTED,
                [agent],
                method,
                candidate=who([agent]),
                score=f"{score:.0f}",
                email=agent.email,
            )
        checked = ["aucun homonyme exact ailleurs"]
        if method is Method.FUZZY:
            checked += [f"{FUZZY_MARGIN:.0f} points d'avance", "e-mail de la liste non contraire"]
        return Verdict((agent,), method, score if method is Method.FUZZY else None, tuple(checked))

    def _elsewhere_rule(self, info: CertInfo, name: CertName) -> Verdict | None:
        """Contradiction: the name is only found in other organisations: held, never a guess."""
        exact = self.exact(name)
        if not exact:
            return None
        return held_verdict(
            Code.MATCH_OTHER_ORGANISATION,
            exact,
            Method.NAME,
            cert_org=cert_org(info) or "non indiqué",
            candidates=who(exact),
            roster_org=", ".join(dict.fromkeys(roster_org(a) for a in exact)),
        )

    def content(self, info: CertInfo, name: CertName) -> Verdict:
        """What the certificate's content designates, strongest evidence first."""
        for rule in (self._email_rule, self._name_rule, self._near_rule, self._elsewhere_rule):
            verdict = rule(info, name)
            if verdict is not None:
                return verdict
        return Verdict((), Method.NAME)
