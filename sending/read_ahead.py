"""What an SMTP session's messages share of the send operation's reads: kept for a short window.

Our choice (the SES text is silent on how fast a change reaches an open SMTP session). The
send operation reads, for every message, the account's settings in the region, the
identities that apply to its senders (and, in the sandbox, to its recipients), whether the
session's access key is still active, and any configuration set it names: a round trip that
cost about as much as the message's own write (BENCHMARKS.md, "Ninth session"). An SMTP
session is one account, one region and one key, and its messages mostly come from the same
few senders, so the session keeps what those reads returned for
`SMTP_SESSION_READ_AHEAD_SECONDS` (default 1 s) and `send` reuses it, instead of reading
again, while every address it needs is known; a message is then one round trip, its write.
Only where the data comes from changes: every rule is still applied to every message by
`sending.operations.send`, and the API and the console read on every call.

- **Staleness is bounded by the window.** Whatever is changed elsewhere (the key
  deactivated, sending paused, production access revoked, an identity unverified or given
  another default configuration set or MAIL FROM setting, a more specific identity verified,
  a configuration set deleted or paused, an unlimited account given limits) takes effect on
  an open session for every message sent once the window has passed since the read that is
  kept; everything is read again together then. A window of 0 reads on every message, as the
  API does. A clock that goes back counts as expired.
- **A refusal is never decided on kept reads.** When a message is refused, `send` forgets
  what is kept and decides once more on a fresh read, so a change that lets mail through
  (an identity verified, sending resumed, production access granted, a set created) counts
  at once; a refused message costs a second read, an accepted one none. An identity deleted
  counts at once too: the message's row would name it, its foreign key fails when the write
  commits (nothing is stored) and `send` decides again on a fresh read.
- **The quota stays exact.** An account with sending limits takes its row lock and reads its
  settings again under it for every message (`sending.quota.take`), so the rate and the
  daily count are never taken from what is kept; only whether the account has limits at all
  comes from it.
- **Nothing of another account is kept.** A ReadAhead belongs to the session's account and
  region (fixed at AUTH) and answers nothing for another; delegated sending's identities and
  authorisation (the owner's) are read for every message, as before.
- **Bounded memory.** In the sandbox each new recipient must be looked up; what is kept is
  dropped once it holds MAX_ADDRESSES addresses, as when the window passes.

Why not keep the read forever and re-check it inside the write's own statement (the INSERT's
WHERE testing the key, the sending switch, each identity's verification)? The identity rule
(the most specific verified identity among the address and its parent domains,
`identities.hierarchy`) and the sandbox, configuration set and MAIL FROM rules would need a
second, SQL, copy to be checked there, and a failed check would have to run the whole send
again: two places for one rule. A bounded window keeps the rules in one place, in Python.

A session's messages are sent one at a time (DATA waits for its reply), so one ReadAhead is
never used by two threads at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from accounts.models import AccountRegion
from identities.models import ConfigurationSet, Identity

MAX_ADDRESSES = 1000


@dataclass
class ReadAhead:
    """One SMTP session's kept reads (see the module docstring)."""

    account_id: str
    region_id: str
    window: timedelta
    read_at: datetime | None = None
    state: AccountRegion | None = None
    identities: dict[str, Identity | None] = field(default_factory=dict)
    configuration_sets: dict[str, ConfigurationSet | None] = field(default_factory=dict)

    def is_for(self, account_id: str, region_id: str) -> bool:
        return (account_id, region_id) == (self.account_id, self.region_id)

    def fresh(self, now: datetime) -> bool:
        """Whether what is kept was read less than the window before `now`."""
        if self.read_at is None:
            return False
        return timedelta(0) <= now - self.read_at < self.window

    def settings_and_identities(
        self, now: datetime, senders: list[str], recipients: list[str]
    ) -> tuple[AccountRegion, dict[str, Identity | None]] | None:
        """The kept settings and the identities of `senders`, and of `recipients` unless the
        account has production access; None when any is unknown or the window has passed."""
        if not self.fresh(now) or self.state is None:
            return None
        needed = senders if self.state.production_access_enabled else [*senders, *recipients]
        if any(address not in self.identities for address in needed):
            return None
        return self.state, {address: self.identities[address] for address in needed}

    def keep(
        self, now: datetime, state: AccountRegion, identities: dict[str, Identity | None]
    ) -> None:
        """Keep a read made at `now`. Within the window it adds to what is kept (which then
        expires with the oldest part); otherwise it starts a new window."""
        if not self.fresh(now) or len(self.identities) >= MAX_ADDRESSES:
            self.read_at = now
            self.identities = {}
            self.configuration_sets = {}
        self.state = state
        self.identities.update(identities)

    def forget(self) -> None:
        """Drop everything kept: the next send reads again."""
        self.read_at, self.state = None, None
        self.identities, self.configuration_sets = {}, {}

    def configuration_set(self, now: datetime, name: str) -> tuple[bool, ConfigurationSet | None]:
        """(known, the set or None when it does not exist) for the account's set `name`."""
        if not self.fresh(now) or name not in self.configuration_sets:
            return False, None
        return True, self.configuration_sets[name]

    def keep_configuration_set(
        self, now: datetime, name: str, found: ConfigurationSet | None
    ) -> None:
        """Kept with the rest, if the rest is fresh (a set is read after the settings)."""
        if self.fresh(now):
            self.configuration_sets[name] = found
