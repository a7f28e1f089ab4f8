"""`make run`'s process manager: honcho, with a longer grace between its SIGTERM and SIGKILL.

On Ctrl-C honcho sends SIGTERM and kills whatever still runs 5 seconds later. The embedded
worker notices a stop only between two polls of its SQLite broker (its loop waits up to 2 s
for a message, longer on a busy laptop), so 5 s sometimes cut its clean shutdown short with
a SIGKILL. Fifteen seconds lets it finish; a normal stop still takes 2-3 s.
"""

from __future__ import annotations

import sys

from honcho import manager
from honcho.command import main

KILL_WAIT_SECONDS = 15

if __name__ == "__main__":
    manager.KILL_WAIT = KILL_WAIT_SECONDS  # read by honcho's loop at each check
    sys.exit(main())
