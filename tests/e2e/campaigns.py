"""The CPaaS `create_campaign` body the e2e tests send: a campaign whose calling window
is open now, so the dialer starts at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

CALLER_ID = "15168148111"
_STAMP = "%Y-%m-%d %H:%M:%S"


def open_now(list_id: Any, name: str, campaign_type: str, **fields: Any) -> dict[str, Any]:
    """Fields for a campaign of ``campaign_type`` on ``list_id`` dialing from a minute
    ago to an hour ahead (UTC), with no retries unless ``fields`` say otherwise."""
    now = datetime.now(UTC)
    return {
        "list_id": list_id,
        "campaign_name": name,
        "campaign_type": campaign_type,
        "campaign_caller_id": CALLER_ID,
        "campaign_start_date": (now - timedelta(minutes=1)).strftime(_STAMP),
        "campaign_end_date": (now + timedelta(hours=1)).strftime(_STAMP),
        "time_zone": "UTC",
        "max_retries": "0",
        "retry_time": "60",
        **fields,
    }
