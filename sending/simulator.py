"""The mailbox simulator: addresses at simulator.amazonses.com that are never relayed.

Each local part is a scenario (DG send-an-email-from-console); `+label` is allowed for VERP
testing. Simulator recipients work in the sandbox without verification, count against the
sending rate but not the daily quota, and their outcome is recorded on the message.
"""

from __future__ import annotations

SIMULATOR_DOMAIN = "simulator.amazonses.com"

SCENARIOS = {
    "success": "Delivered (mailbox simulator: success)",
    "bounce": "Hard bounce: 550 5.1.1 user unknown (mailbox simulator)",
    "ooto": "Delivered, then an out-of-office auto-reply (mailbox simulator)",
    "complaint": "Delivered, then a complaint (mailbox simulator)",
    "suppressionlist": "Hard bounce: the address is on the suppression list (mailbox simulator)",
}


def scenario(address: str) -> str | None:
    """The scenario of a simulator address (`bounce+x@simulator.amazonses.com` → bounce)."""
    local, _, domain = address.rpartition("@")
    if domain.lower() != SIMULATOR_DOMAIN:
        return None
    name = local.split("+", 1)[0].lower()
    return name if name in SCENARIOS else None


def address_for(name: str) -> str:
    return f"{name}@{SIMULATOR_DOMAIN}"
