"""Collecting a platform's accounts by e-mail, noting the e-mails several active accounts share."""

from __future__ import annotations

from collections.abc import Iterable

from certsync.connectors.interface import Account, AccountListing


class AccountCollector:
    """Accounts as a connector lists them, to be turned into an AccountListing.

    None of the platforms makes the e-mail unique (S²LOW's and Pastell's login is, the socle's
    username is, and the socle asks for an alias as username for a second agent with the same
    e-mail), so one e-mail may name several accounts. Which one is the agent's would be a guess.
    """

    def __init__(self) -> None:
        self._by_email: dict[str, list[Account]] = {}

    def add(self, account: Account) -> None:
        """One listed account (an account listed twice, e.g. on two pages, counts once)."""
        found = self._by_email.setdefault(account.email_key, [])
        if all(a.id != account.id for a in found):
            found.append(account)

    def listing(self, gaps: Iterable[str] = ()) -> AccountListing:
        """The listing: per e-mail the only active account (else the first listed)."""
        accounts: dict[str, Account] = {}
        ambiguous: dict[str, tuple[str, ...]] = {}
        for key, found in self._by_email.items():
            active = [a for a in found if a.active]
            # Disabled accounts are never written: one active account beside them is the one.
            accounts[key] = active[0] if active else found[0]
            if len(active) > 1:
                ambiguous[key] = tuple(a.id for a in active)
        return AccountListing(accounts, tuple(gaps), ambiguous)
