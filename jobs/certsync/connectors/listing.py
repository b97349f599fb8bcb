"""Collecting a platform's accounts by e-mail, noting the e-mails several active accounts share."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from certsync.connectors.interface import Account, AccountListing, Rejected
from certsync.errors import CertsyncError
from certsync.french import plural


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


def count_by_organisation(listing: AccountListing) -> dict[str, int]:
    """How many listed accounts each organisation (or entity, or authority) holds."""
    counts: dict[str, int] = {}
    for account in listing.accounts.values():
        counts[account.organisation] = counts.get(account.organisation, 0) + 1
    return counts


def probe_edit(
    listing: AccountListing, open_account: Callable[[Account], object]
) -> tuple[bool, tuple[str, ...]]:
    """Whether one active account's edit page or record opens, and the French notes for
    `certsync check` (listing gaps, disabled accounts, the refusal met). Nothing is written."""
    notes = list(listing.gaps)
    inactive = sum(not a.active for a in listing.accounts.values())
    if inactive:
        notes.append(
            f"{plural(inactive, 'compte désactivé', 'comptes désactivés')} : aucun certificat "
            "n'y sera déposé."
        )
    sample = next((a for a in listing.accounts.values() if a.active), None)
    if sample is None:
        notes.append("aucun compte actif trouvé : droit de modification non vérifié")
        return False, tuple(notes)
    try:
        open_account(sample)
    except (Rejected, CertsyncError) as exc:
        notes.append(f"fiche de {sample.email} refusée : {getattr(exc, 'message', exc)}")
        return False, tuple(notes)
    return True, tuple(notes)
