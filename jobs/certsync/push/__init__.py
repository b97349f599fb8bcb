"""Pushing certificates: the engine (`engine`), its state-recording variant (`recorded`) and the
write with its read-back (`readback`); the engine's names are re-exported here."""

from certsync.push.engine import (
    BREAKER_REASON,
    WRITING,
    CircuitBreaker,
    Intent,
    Journal,
    Plan,
    PlanAction,
    PlanEntry,
    PushItem,
    PushOutcome,
    PushRun,
    Selection,
    Settle,
    apply,
    plan,
    push,
)

__all__ = [
    "BREAKER_REASON",
    "WRITING",
    "CircuitBreaker",
    "Intent",
    "Journal",
    "Plan",
    "PlanAction",
    "PlanEntry",
    "PushItem",
    "PushOutcome",
    "PushRun",
    "Selection",
    "Settle",
    "apply",
    "plan",
    "push",
]
