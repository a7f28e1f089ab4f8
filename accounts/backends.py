"""Sign-in backend: Django's ModelBackend, loading the user's account seat with the user."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class ModelBackendWithMembership(ModelBackend):
    """Every console page needs the signed-in user and the account they work in
    (`accounts.models.account_for_user`); one JOIN loads both instead of two queries."""

    def get_user(self, user_id: Any) -> Any:
        user_model = get_user_model()
        try:
            user = user_model._default_manager.select_related("membership__account").get(pk=user_id)
        except user_model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
