"""`make run`'s process manager: honcho, with a longer grace between its SIGTERM and SIGKILL,
and the terminal's Ctrl-C for itself alone.

Ctrl-C: the terminal sends SIGINT to its foreground process group, which is make's. make
would then print "make: *** [Makefile:…: run] Interrupt" whatever the recipe does. So, for
its lifetime, this process moves into a process group of its own and makes that group the
terminal's foreground (SIGTTOU ignored while it does, as a shell does for a job); it gives the
terminal back to make's group on the way out. honcho's processes run in sessions of their own
and never see the terminal's signals: honcho stops them with SIGTERM, and a stop that ends
with every process gone by itself exits 0, so make has nothing to report.

Grace: honcho kills whatever still runs 5 seconds after its SIGTERM. The embedded worker's
warm shutdown waits for running tasks and for a poll of its SQLite broker (up to 2 s, longer
on a busy laptop), so 15 seconds lets it finish; a normal stop takes 2-3 s.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from honcho import manager
from honcho.command import main

KILL_WAIT_SECONDS = 15
INTERRUPTED = 130  # honcho's exit status after SIGINT, as a shell's for a Ctrl-C'd job


@contextmanager
def terminal_foreground() -> Iterator[None]:
    """This process alone in the terminal's foreground process group, for the block."""
    try:
        terminal = os.open("/dev/tty", os.O_RDWR)
    except OSError:  # no terminal (CI, a pipe): nobody types Ctrl-C, nothing to do
        yield
        return
    try:
        if os.tcgetpgrp(terminal) != os.getpgrp():  # run in the background: leave it be
            yield
            return
        previous = os.getpgrp()
        os.setpgid(0, 0)
        ignored = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        try:
            os.tcsetpgrp(terminal, os.getpgrp())
            yield
        finally:
            os.tcsetpgrp(terminal, previous)
            signal.signal(signal.SIGTTOU, ignored)
    finally:
        os.close(terminal)


def run() -> int:
    manager.KILL_WAIT = KILL_WAIT_SECONDS  # read by honcho's loop at each check
    killed: list[bool] = []
    kill = manager.Manager.kill

    def kill_and_remember(self: manager.Manager) -> None:
        killed.append(True)
        kill(self)

    manager.Manager.kill = kill_and_remember  # type: ignore[method-assign]
    with terminal_foreground():
        try:
            main()
        except SystemExit as exit:
            status = exit.code if isinstance(exit.code, int) else 1
        else:
            status = 0
    if status == INTERRUPTED and not killed:
        return 0  # Ctrl-C, and every process stopped cleanly
    return status


if __name__ == "__main__":
    sys.exit(run())
