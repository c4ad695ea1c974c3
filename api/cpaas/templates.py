"""`/api/announce_templates`: the OTP announcement texts an account may use (AN...)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from api.openapi.operation import Operation, Param, route
from media.template import fields_in
from media.voice import TtsError
from softswitch.store.templates import AnnounceTemplate, TemplateStore

from .auth import account_of
from .body import parse_body
from .models import AnnounceTemplateCreate, AnnounceTemplateRef
from .replies import CPAAS, Envelope, Listing, Template, TemplateDeleted, TemplateId
from .responses import ApiError, endpoint, listed, ok

if TYPE_CHECKING:
    from api.context import AppContext


def check_text(text: str) -> str:
    """An OTP template uses ``{otp}`` and nothing else: no other value reaches the call."""
    try:
        names = fields_in(text)
    except (TtsError, ValueError) as exc:
        raise ApiError(f"text: {exc}") from None
    if "otp" not in names:
        raise ApiError("text: must contain the {otp} variable")
    others = sorted(names - {"otp"})
    if others:
        raise ApiError(f"text: unknown variable(s) {', '.join(others)}: only {{otp}} is filled in")
    return text


def template_json(item: AnnounceTemplate) -> dict[str, str]:
    return {"announce_template_id": item.id, "template_name": item.name, "text": item.text}


def routes(ctx: AppContext) -> list[BaseRoute]:
    store = TemplateStore(ctx.store.db)

    async def create(request: Request) -> Response:
        account = await account_of(request, ctx)
        body = await parse_body(request, AnnounceTemplateCreate)
        item = store.create(
            account.id, (body.template_name or "").strip(), check_text(body.text), time.time()
        )
        return ok(announce_template_id=item.id)

    async def listing(request: Request) -> Response:
        account = await account_of(request, ctx)
        wanted = request.query_params.get("announce_template_id")
        if wanted is not None:
            item = store.get(account.id, wanted.strip())
            if item is None:
                raise ApiError(f"announce_template_id: no template {wanted}", 404)
            return ok(message="template found", result=[template_json(item)])
        items = [template_json(t) for t in store.all(account.id)]
        return listed("templates", items)

    async def delete(request: Request) -> Response:
        account = await account_of(request, ctx)
        body = await parse_body(request, AnnounceTemplateRef)
        if not store.delete(account.id, body.announce_template_id):
            raise ApiError(f"announce_template_id: no template {body.announce_template_id}", 404)
        return ok(
            message="template deleted successfully", announce_template_id=body.announce_template_id
        )

    handlers = {"POST": endpoint(create), "GET": endpoint(listing), "DELETE": endpoint(delete)}

    async def dispatch(request: Request) -> Response:
        return await handlers[request.method](request)

    operations = {
        "POST": Operation(
            "Add an OTP announcement template (its text uses {otp})",
            CPAAS,
            body=AnnounceTemplateCreate,
            ok=Envelope[TemplateId],
            example={"template_name": "otp", "text": "Your one time password is {otp}"},
        ),
        "GET": Operation(
            "The account's templates, or one",
            CPAAS,
            ok=Envelope[Listing[Template]],
            errors=(404,),
            params=(Param("announce_template_id", "query", "only this template"),),
        ),
        "DELETE": Operation(
            "Delete a template",
            CPAAS,
            body=AnnounceTemplateRef,
            ok=Envelope[TemplateDeleted],
            errors=(404,),
            example={"announce_template_id": "AN2222314c96"},
        ),
    }
    return [route("/api/announce_templates", dispatch, operations)]
