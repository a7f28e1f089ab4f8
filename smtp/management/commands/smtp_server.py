"""`manage.py smtp_server`: run the SMTP submission server until interrupted."""

from __future__ import annotations

import contextlib
import os
from typing import Any

from django.core.management.base import BaseCommand

from sesconsole import warmup
from smtp.server import ServerConfig, SmtpServer


class Command(BaseCommand):
    help = (
        "Serve SES-style SMTP submission: STARTTLS on --port (SMTP_PORT), implicit TLS on "
        "--tls-port (SMTP_TLS_PORT, 0 for none), AUTH with SES SMTP credentials."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", help="Address to bind (default: SMTP_BIND_HOST).")
        parser.add_argument("--port", type=int, help="STARTTLS port (default: SMTP_PORT).")
        parser.add_argument(
            "--tls-port", type=int, help="Implicit-TLS port, 0 for none (default: SMTP_TLS_PORT)."
        )

    def handle(
        self, *args: Any, host: str | None, port: int | None, tls_port: int | None, **options: Any
    ) -> None:
        config = ServerConfig.from_settings(host=host, port=port, tls_port=tls_port)
        # Before listening: the first mail would load the task modules and the broker's
        # transport itself, about 0.28 s (sesconsole/warmup.py).
        with warmup.timed(f"SMTP server pid={os.getpid()}"):
            warmup.load_shared()
        self.stdout.write(
            f"SMTP server on {config.host}: STARTTLS port {config.port}"
            + (f", implicit TLS port {config.tls_port}" if config.tls_port else "")
            + ". Stop it with Ctrl-C."
        )
        self.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            SmtpServer(config).serve_forever()
