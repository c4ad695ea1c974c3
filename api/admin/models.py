"""The admin API's replies and PATCH body as pydantic models, for the OpenAPI document
(`extensions`, `features` and `errors` build the same JSON)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from api.openapi.operation import Family
from softswitch.config import MAX_NO_ANSWER_TIMEOUT


class AdminErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: int
    message: str


class AdminErrorBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    error: AdminErrorDetail


ADMIN = Family(
    tag="Admin",
    description="The operator's API: a bearer admin token from `softswitch admin token`.",
    error=AdminErrorBody,
    errors=(401, 429),
    schemes={
        "adminToken": {
            "type": "http",
            "scheme": "bearer",
            "description": "an admin token (`softswitch admin token`)",
        }
    },
    requirement=("adminToken",),
    error_examples={401: {"error": {"status": 401, "message": "invalid admin token"}}},
)


class Registration(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contact: str
    source_host: str
    source_port: int
    transport: str
    user_agent: str
    expires_in: int
    reachable: bool


class Extension(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: str
    name: str | None
    registrations: list[Registration]


class Extensions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    extensions: list[Extension]


class Features(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: str
    forward_always: str | None
    forward_busy: str | None
    forward_no_answer: str | None
    no_answer_timeout: int
    dnd: bool
    pickup_group: str | None = Field(description="from the config file: not changed here")


class FeaturesPatch(BaseModel):
    """Only what changes; a forwarding target of null or "" turns it off."""

    model_config = ConfigDict(extra="forbid")
    forward_always: str | None = None
    forward_busy: str | None = None
    forward_no_answer: str | None = None
    no_answer_timeout: int | None = Field(None, ge=1, le=MAX_NO_ANSWER_TIMEOUT)
    dnd: bool | None = None
