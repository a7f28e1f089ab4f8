"""The SES region list (code, console name), as seeded into the Region table."""

from __future__ import annotations

from typing import Any

DEFAULT_REGION = "us-east-1"

SES_REGIONS: list[tuple[str, str, str]] = [
    # code, name, region-specific Easy DKIM signing zone ("" = SIGNING_HOSTED_ZONE)
    ("us-east-1", "US East (N. Virginia)", ""),
    ("us-east-2", "US East (Ohio)", ""),
    ("us-west-1", "US West (N. California)", ""),
    ("us-west-2", "US West (Oregon)", ""),
    ("af-south-1", "Africa (Cape Town)", "dkim.af-south-1.amazonses.com"),
    ("ap-south-1", "Asia Pacific (Mumbai)", ""),
    ("ap-south-2", "Asia Pacific (Hyderabad)", ""),
    ("ap-northeast-1", "Asia Pacific (Tokyo)", ""),
    ("ap-northeast-2", "Asia Pacific (Seoul)", ""),
    ("ap-northeast-3", "Asia Pacific (Osaka)", "dkim.ap-northeast-3.amazonses.com"),
    ("ap-southeast-1", "Asia Pacific (Singapore)", ""),
    ("ap-southeast-2", "Asia Pacific (Sydney)", ""),
    ("ap-southeast-3", "Asia Pacific (Jakarta)", ""),
    ("ap-southeast-5", "Asia Pacific (Malaysia)", ""),
    ("ca-central-1", "Canada (Central)", ""),
    ("ca-west-1", "Canada West (Calgary)", ""),
    ("eu-central-1", "Europe (Frankfurt)", ""),
    ("eu-central-2", "Europe (Zurich)", ""),
    ("eu-west-1", "Europe (Ireland)", ""),
    ("eu-west-2", "Europe (London)", ""),
    ("eu-west-3", "Europe (Paris)", ""),
    ("eu-south-1", "Europe (Milan)", "dkim.eu-south-1.amazonses.com"),
    ("eu-north-1", "Europe (Stockholm)", ""),
    ("il-central-1", "Israel (Tel Aviv)", ""),
    ("me-south-1", "Middle East (Bahrain)", ""),
    ("me-central-1", "Middle East (UAE)", ""),
    ("sa-east-1", "South America (São Paulo)", ""),
    ("us-gov-east-1", "AWS GovCloud (US-East)", ""),
    ("us-gov-west-1", "AWS GovCloud (US-West)", ""),
]


def seed_regions(region_model: Any) -> None:
    """Insert or refresh the SES regions (used by the migration and by test fixtures)."""
    for code, name, zone in SES_REGIONS:
        region_model.objects.update_or_create(
            code=code, defaults={"name": name, "dkim_signing_zone": zone}
        )
