from __future__ import annotations

from django.apps import AppConfig


class SesconsoleConfig(AppConfig):
    name = "sesconsole"
    verbose_name = "sesconsole"

    def ready(self) -> None:
        from . import checks, logs  # noqa: F401  (checks: registered on import)

        logs.connect_celery_signals()
