"""Voicemail: the messages of the boxes the account owns (``[[extensions]] account``):
play, mark heard or new, delete. Every change goes through `Voicemail`, so the
phone's message lamp follows, as with ``/api/voicemail``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from softswitch.store.voicemail import MessageRecord
from softswitch.voicemail.service import Voicemail, VoicemailError

from .security import Visitor
from .web import SECURITY_HEADERS, ActionError, Console


def routes(console: Console) -> list[BaseRoute]:
    ctx = console.ctx

    def service() -> Voicemail | None:
        return ctx.switch.voicemail

    def owned(who: Visitor, extension: str) -> Voicemail:
        voicemail = service()
        if voicemail is None or not voicemail.owned_by(who.account_id, extension):
            raise ActionError(f"no voicemail box {extension}", 404)
        return voicemail

    def message(who: Visitor, request: Request) -> tuple[Voicemail, MessageRecord]:
        extension = request.path_params["extension"]
        voicemail = owned(who, extension)
        text = request.path_params["message_id"]
        if not text.isdigit() or len(text) > 18:
            raise ActionError(f"no message {text}", 404)
        try:
            return voicemail, voicemail.message(extension, int(text))
        except VoicemailError as exc:
            raise ActionError(str(exc), 404) from None

    @console.page
    async def listing(request: Request, who: Visitor) -> Response:
        voicemail = service()
        boxes: list[tuple[str, list[MessageRecord]]] = []
        if voicemail is not None:
            for number in voicemail.boxes.numbers():
                if voicemail.owned_by(who.account_id, number):
                    boxes.append((number, list(reversed(voicemail.messages(number)))))
        return console.render(request, "voicemail.html", who, boxes=boxes)

    @console.page
    async def audio(request: Request, who: Visitor) -> Response:
        try:
            voicemail, found = message(who, request)
            path = voicemail.path(found)
            if not path.is_file():
                raise ActionError(f"the audio of message {found.id} is gone", 404)
        except (ActionError, VoicemailError) as exc:
            return console.render(
                request, "error.html", who, 404, message=str(exc), back="/console/voicemail"
            )
        return FileResponse(
            path,
            media_type="audio/wav",
            filename=f"voicemail-{found.id}.wav",
            content_disposition_type="inline",
            headers=SECURITY_HEADERS,
        )

    @console.action(back="/console/voicemail")
    async def heard(request: Request, who: Visitor, form: dict[str, str]) -> str:
        voicemail, found = message(who, request)
        value = form.get("heard", "true")
        if value not in ("true", "false"):
            raise ActionError("heard: must be true or false")
        voicemail.mark_heard(found.extension, found.id, value == "true")
        return f"message {found.id} marked {'heard' if value == 'true' else 'new'}"

    @console.action(back="/console/voicemail")
    async def delete(request: Request, who: Visitor, form: dict[str, str]) -> str:
        voicemail, found = message(who, request)
        voicemail.delete(found.extension, found.id)
        return f"message {found.id} deleted"

    one = "/console/voicemail/{extension}/{message_id}"
    return [
        Route("/console/voicemail", listing, methods=["GET"]),
        Route(one + "/audio", audio, methods=["GET"]),
        Route(one + "/heard", heard, methods=["POST"]),
        Route(one + "/delete", delete, methods=["POST"]),
    ]
