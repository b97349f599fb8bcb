"""Worker processes that never outlive the run that started them."""

from __future__ import annotations

import ctypes
import os
import signal
import sys

#: prctl option from <linux/prctl.h>: signal to receive when the parent thread dies.
_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when its parent dies; exit now if it already has.

    An orphaned reading worker would otherwise live on after a `kill -9` of the run, holding
    open files of the state. Outside Linux, only the check at start is made.
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    # The parent may have died between fork and prctl: the signal would then never come.
    if os.getppid() != parent:
        os._exit(1)
