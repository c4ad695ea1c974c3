"""``GET /health``'s reply as a pydantic model, for the OpenAPI document."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.openapi.operation import Family


class SipAddress(BaseModel):
    address: str
    port: int
    tls_port: int | None


class EngineHealth(BaseModel):
    model_config = ConfigDict(extra="forbid")
    engine: str
    ok: bool
    reason: str | None = Field(None, description="why it cannot run (when ok is false)")


class Health(BaseModel):
    """503 with the same body while the switch is stopped."""

    status: Literal["ok", "stopped"]
    sip: SipAddress
    channels: int
    unreachable_contacts: Any
    trunks: dict[str, Any]
    engines: dict[str, EngineHealth]


HEALTH = Family(
    tag="Health", description="Is the switch up: no credentials.", error=Health, errors=(503,)
)
