from __future__ import annotations

from tests.verification.conftest import eager_celery, make_template, production, smtp  # noqa: F401
