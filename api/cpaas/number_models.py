"""The bodies of `/api/numbers` and `/api/ring_groups` for the OpenAPI document, derived
from the switch's own models (`InboundNumber`, `RingGroup`) so they cannot drift: the
same fields less ``account`` (the account header says it), and for PATCH every field
optional, ``null`` clearing it. `softswitch.number_book` validates the real requests."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, create_model
from pydantic.fields import FieldInfo

from softswitch.numbers import InboundNumber
from softswitch.ringgroups import RingGroup


def body_of(model: type[BaseModel], name: str, *, patch: bool = False) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for key, info in model.model_fields.items():
        if key == "account":
            continue
        annotation: Any = info.annotation
        if patch:
            fields[key] = (annotation | None, FieldInfo.merge_field_infos(info, default=None))
        else:
            fields[key] = (info.annotation, info)
    return create_model(
        name, __config__=ConfigDict(extra="forbid"), __doc__=model.__doc__, **fields
    )


NumberCreate = body_of(InboundNumber, "NumberCreate")
NumberPatch = body_of(InboundNumber, "NumberPatch", patch=True)
RingGroupCreate = body_of(RingGroup, "RingGroupCreate")
RingGroupPatch = body_of(RingGroup, "RingGroupPatch", patch=True)
