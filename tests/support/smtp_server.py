"""A real SMTP server for tests: aiosmtpd on a loopback port, collecting what it accepts."""

from __future__ import annotations

import contextlib
import email
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope


@dataclass
class Collector:
    """Keeps every accepted envelope; `answer` set to a 4xx/5xx reply makes it refuse mail."""

    envelopes: list[Envelope] = field(default_factory=list)
    answer: str = "250 Message accepted for delivery"

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        if self.answer.startswith("250"):
            self.envelopes.append(envelope)
        return self.answer


@dataclass
class SmtpSink:
    port: int
    handler: Collector
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(envelope.content, policy=policy.default)  # type: ignore[misc]
            for envelope in self.handler.envelopes
        ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def relay_for_django(settings: Any) -> Iterator[SmtpSink]:
    """aiosmtpd on 127.0.0.1:<free port>, with Django's SMTP backend pointed at it."""
    sink = SmtpSink(port=free_port(), handler=Collector())
    sink.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_TIMEOUT = 5
    try:
        yield sink
    finally:
        sink.stop()
