"""The push engine: check, list, settle earlier writes, plan, then apply (or show the plan)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from certsync.config import PlatformConfig
from certsync.connectors.interface import (
    AccountListing,
    Connector,
    Unavailable,
)
from certsync.errors import CertsyncError
from certsync.push.planning import plan, scope
from certsync.push.records import (
    Journal,
    Plan,
    PlanAction,
    PlanEntry,
    PushItem,
    PushOutcome,
    PushRun,
    Selection,
    planned_outcome,
)
from certsync.push.writing import apply


def _all_pending(items: Sequence[PushItem], reason: str) -> tuple[PushOutcome, ...]:
    return tuple(planned_outcome(PlanEntry(i, PlanAction.PENDING, reason=reason)) for i in items)


#: Called with the listing before the plan: settles the writes earlier runs left unconfirmed
#: and returns the e-mails still unsettled, with the reason (those accounts are not written).
Settle = Callable[[AccountListing], Mapping[str, str]]


def push(
    items: Iterable[PushItem],
    connector: Connector,
    config: PlatformConfig,
    *,
    create_missing: bool = False,
    dry_run: bool = False,
    journal: Journal | None = None,
    selection: Selection | None = None,
    settle: Settle | None = None,
    on_plan: Callable[[Plan], None] | None = None,
) -> PushRun:
    """check(), the listing, settle(), plan(), then apply() (or the plan's view in a dry run).

    check() may raise a CertsyncError; a failure while listing or settling stops the run with
    every item pending (nothing was written then). `on_plan` receives the plan before anything
    is written (the report shows it).
    """
    connector.check()
    items = list(items)
    scope(connector, items)
    try:
        listing = connector.listing()
        unsettled = settle(listing) if settle is not None and not dry_run else {}
    except Unavailable as exc:
        return PushRun(_all_pending(items, exc.reason), breaker_open=True)
    except CertsyncError as exc:
        return PushRun(_all_pending(items, exc.message), error=exc)
    the_plan = plan(
        items,
        connector,
        create_missing=create_missing,
        workers=config.workers,
        breaker_threshold=config.breaker_threshold,
        listing=listing,
        unsettled=unsettled,
    )
    if on_plan is not None:
        on_plan(the_plan)
    if dry_run:
        return PushRun(tuple(the_plan.outcomes()), the_plan.breaker_open, the_plan.error)
    return apply(
        the_plan,
        connector,
        config,
        create_missing=create_missing,
        journal=journal,
        selection=selection,
    )
