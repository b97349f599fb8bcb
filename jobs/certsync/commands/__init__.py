"""Command handlers: turn parsed arguments into library calls and French output."""

from certsync.commands.audit import register_audit
from certsync.commands.check import register_check
from certsync.commands.common import crash_log_path
from certsync.commands.decisions import register_decisions
from certsync.commands.inspect import cmd_inspect
from certsync.commands.onboarding import register_onboarding
from certsync.commands.ops import register_ops
from certsync.commands.run import add_selection, cmd_run
from certsync.commands.trust import register_trust

__all__ = [
    "add_selection",
    "cmd_inspect",
    "cmd_run",
    "crash_log_path",
    "register_audit",
    "register_check",
    "register_decisions",
    "register_onboarding",
    "register_ops",
    "register_trust",
]
