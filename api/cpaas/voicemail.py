"""`/api/voicemail/{extension}/messages`: the voicemail of an extension the account owns
(``[[extensions]] account``).

    GET    /api/voicemail/{extension}/messages             the messages, oldest first
                                                           (``?heard=false`` new only)
    GET    /api/voicemail/{extension}/messages/{id}/audio  the message's WAV
    PATCH  /api/voicemail/{extension}/messages/{id}        ``{"heard": true|false}``
    DELETE /api/voicemail/{extension}/messages/{id}

A box the account does not own answers 404 like one that does not exist. Every change
updates the phone's message lamp (MWI).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute

from api.httpdate import http_date
from api.openapi.operation import Operation, Param, Reply, route
from softswitch.store.voicemail import MessageRecord
from softswitch.voicemail.service import Voicemail, VoicemailError

from .auth import account_of
from .body import parse_body
from .models import VoicemailUpdate
from .replies import CPAAS, Envelope, Listing, VoicemailDone, VoicemailMessage
from .responses import ApiError, endpoint, ok

if TYPE_CHECKING:
    from api.context import AppContext

BASE = "/api/voicemail/{extension}/messages"


def message_json(message: MessageRecord) -> dict[str, object]:
    return {
        "message_id": str(message.id),
        "caller": message.caller,
        "received_at": http_date(message.created_at),
        "duration": round(message.duration, 2),
        "heard": "true" if message.heard else "false",
        "transcript": message.transcript,
    }


def routes(ctx: AppContext) -> list[BaseRoute]:
    async def box(request: Request) -> tuple[Voicemail, str]:
        account = await account_of(request, ctx)
        extension = request.path_params["extension"]
        voicemail = ctx.switch.voicemail
        if voicemail is None or not voicemail.owned_by(account.id, extension):
            raise ApiError(f"extension: no voicemail box {extension}", 404)
        return voicemail, extension

    def message_id(request: Request) -> int:
        text = request.path_params["message_id"]
        if not text.isdigit() or len(text) > 18:
            raise ApiError(f"message_id: no message {text}", 404)
        return int(text)

    async def listing(request: Request) -> Response:
        voicemail, extension = await box(request)
        heard_param = request.query_params.get("heard")
        if heard_param not in (None, "true", "false"):
            raise ApiError("heard: must be true or false")
        heard = None if heard_param is None else heard_param == "true"
        items = [message_json(m) for m in voicemail.messages(extension, heard)]
        return ok(message="messages found" if items else "no messages", result=items)

    async def audio(request: Request) -> Response:
        voicemail, extension = await box(request)
        try:
            message = voicemail.message(extension, message_id(request))
        except VoicemailError as exc:
            raise ApiError(str(exc), 404) from None
        path = voicemail.path(message)
        if not path.is_file():
            raise ApiError(f"message_id: the audio of message {message.id} is gone", 404)
        return FileResponse(path, media_type="audio/wav", filename=f"voicemail-{message.id}.wav")

    async def update(request: Request) -> Response:
        voicemail, extension = await box(request)
        wanted = message_id(request)
        body = await parse_body(request, VoicemailUpdate)
        try:
            voicemail.mark_heard(extension, wanted, body.heard)
        except VoicemailError as exc:
            raise ApiError(str(exc), 404) from None
        return ok(message="message updated", message_id=str(wanted))

    async def delete(request: Request) -> Response:
        voicemail, extension = await box(request)
        wanted = message_id(request)
        try:
            voicemail.delete(extension, wanted)
        except VoicemailError as exc:
            raise ApiError(str(exc), 404) from None
        return ok(message="message deleted", message_id=str(wanted))

    one = endpoint(update), endpoint(delete)

    async def dispatch_one(request: Request) -> Response:
        return await (one[0] if request.method == "PATCH" else one[1])(request)

    box_key = {"extension": "an extension of the account with a voicemail box"}
    one_key = box_key | {"message_id": "the message's message_id"}
    return [
        route(
            BASE,
            endpoint(listing),
            {
                "GET": Operation(
                    "The box's messages, oldest first",
                    CPAAS,
                    ok=Envelope[Listing[VoicemailMessage]],
                    errors=(404,),
                    path_params=box_key,
                    params=(
                        Param(
                            "heard",
                            "query",
                            "false: new messages only, true: heard ones only",
                            Literal["true", "false"],
                        ),
                    ),
                )
            },
        ),
        route(
            BASE + "/{message_id}/audio",
            endpoint(audio),
            {
                "GET": Operation(
                    "A message's audio",
                    CPAAS,
                    ok=Reply(bytes, "audio/wav", "the message (WAV)"),
                    errors=(404,),
                    path_params=one_key,
                )
            },
        ),
        route(
            BASE + "/{message_id}",
            dispatch_one,
            {
                "PATCH": Operation(
                    "Mark a message heard or new (the phone's lamp follows)",
                    CPAAS,
                    body=VoicemailUpdate,
                    ok=Envelope[VoicemailDone],
                    errors=(404,),
                    path_params=one_key,
                    example={"heard": True},
                ),
                "DELETE": Operation(
                    "Delete a message",
                    CPAAS,
                    ok=Envelope[VoicemailDone],
                    errors=(404,),
                    path_params=one_key,
                ),
            },
        ),
    ]
