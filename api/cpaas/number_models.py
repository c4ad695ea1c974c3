"""The bodies of `/api/numbers` and `/api/ring_groups` for the OpenAPI document, derived
from the switch's own models (`InboundNumber`, `RingGroup`) so they cannot drift: the
same fields less ``account`` (the account header says it). For PATCH every field is
optional; ``null`` clears an optional one (hours, closed, fallback), a required one
cannot be cleared. `softswitch.number_book` validates the real requests."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.json_schema import JsonSchemaValue

from softswitch.numbers import InboundNumber
from softswitch.ringgroups import RingGroup


def _no_default(schema: JsonSchemaValue) -> None:
    # a PATCH leaves out what it does not change: there is no default value to show
    schema.pop("default", None)


def body_of(model: type[BaseModel], name: str, *, patch: bool = False) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for key, info in model.model_fields.items():
        if key == "account":
            continue
        if not patch:
            fields[key] = (info.annotation, info)
            continue
        # the field's own constraints stay on its type, inside the Optional
        inner: Any = (
            Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
        )
        if info.is_required():
            fields[key] = (inner, Field(None, json_schema_extra=_no_default))
        else:
            fields[key] = (inner | None, Field(None))
    return create_model(
        name, __config__=ConfigDict(extra="forbid"), __doc__=model.__doc__, **fields
    )


NumberCreate = body_of(InboundNumber, "NumberCreate")
NumberPatch = body_of(InboundNumber, "NumberPatch", patch=True)
RingGroupCreate = body_of(RingGroup, "RingGroupCreate")
RingGroupPatch = body_of(RingGroup, "RingGroupPatch", patch=True)
