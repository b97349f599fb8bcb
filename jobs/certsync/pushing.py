"""Old import path of `certsync.push.recorded`, kept for `commands/run.py` until it imports from
there (the file belongs to another restructuring branch); delete once nothing imports it."""

from certsync.push.recorded import StateJournal, StatePusher, make_pusher

__all__ = ["StateJournal", "StatePusher", "make_pusher"]
