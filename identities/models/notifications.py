"""An identity's SES v1 notification settings: SNS topics and headers in notifications.

sesconsole has no SNS: the topic ARNs are stored and shown (v1 GetIdentityNotificationAttributes,
the console's Notifications tab) so that clients and Terraform read back what they set, but
nothing is published to them (the README says so).
"""

from __future__ import annotations

from django.db import models


class NotificationType(models.TextChoices):
    BOUNCE = "Bounce", "Bounce"
    COMPLAINT = "Complaint", "Complaint"
    DELIVERY = "Delivery", "Delivery"


# An SNS topic ARN: arn:<partition>:sns:<region>:<account>:<name> (name at most 256).
MAX_TOPIC_ARN_LENGTH = 1024


class IdentityNotifications(models.Model):
    """The notification fields of `Identity` (an abstract base: the columns live on its table)."""

    bounce_topic = models.CharField(max_length=MAX_TOPIC_ARN_LENGTH, blank=True)
    complaint_topic = models.CharField(max_length=MAX_TOPIC_ARN_LENGTH, blank=True)
    delivery_topic = models.CharField(max_length=MAX_TOPIC_ARN_LENGTH, blank=True)
    headers_in_bounce_notifications = models.BooleanField(default=False)
    headers_in_complaint_notifications = models.BooleanField(default=False)
    headers_in_delivery_notifications = models.BooleanField(default=False)

    class Meta:
        abstract = True

    def topic(self, notification_type: str) -> str:
        return str(getattr(self, _topic_field(notification_type)))

    def set_notification_topic(self, notification_type: str, topic_arn: str) -> None:
        """Store (or with "" clear) the topic for one notification type."""
        field = _topic_field(notification_type)
        setattr(self, field, topic_arn)
        self.save(update_fields=[field])

    def set_headers_in_notifications(self, notification_type: str, enabled: bool) -> None:
        field = f"headers_in_{NotificationType(notification_type).value.lower()}_notifications"
        setattr(self, field, enabled)
        self.save(update_fields=[field])


def _topic_field(notification_type: str) -> str:
    return f"{NotificationType(notification_type).value.lower()}_topic"
