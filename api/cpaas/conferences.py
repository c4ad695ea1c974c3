"""`/api/conferences`: an account's conference rooms and the people in them.

GET    /api/conferences                        every room of the account
POST   /api/conferences                        {"room", "pin", "name", "record", "max_participants"}
GET    /api/conferences/{room}                 one room
PATCH  /api/conferences/{room}                 any of pin, name, record, max_participants
DELETE /api/conferences/{room}                 (whoever is in it is hung up)
GET    /api/conferences/{room}/participants    who is in the room now
POST   /api/conferences/{room}/participants    {"number", "caller_id"}: call it into the room
PATCH  /api/conferences/{room}/participants/{participant_id}  {"muted": true|false}
DELETE /api/conferences/{room}/participants/{participant_id}  kick (BYE)

Rooms of the config file are listed (``"source": "config"``) but changed only there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from api.openapi.operation import Operation, route
from softswitch.conference import Participant, Room
from softswitch.conferences import ConferenceError, ConferenceErrorKind
from softswitch.config import ConferenceConfig
from softswitch.switch import SwitchError

from .auth import account_of
from .body import parse_body
from .conference_models import (
    ConferenceCreate,
    ConferenceUpdate,
    ParticipantDial,
    ParticipantUpdate,
)
from .replies import (
    CPAAS,
    Dialing,
    Envelope,
    Found,
    Listing,
    ParticipantRemoved,
    RoomDeleted,
)
from .replies import (
    Participant as ParticipantReply,
)
from .replies import (
    Room as RoomReply,
)
from .responses import ApiError, endpoint, listed, ok

if TYPE_CHECKING:
    from api.context import AppContext

_STATUS = {
    ConferenceErrorKind.NOT_FOUND: 404,
    ConferenceErrorKind.EXISTS: 409,
    ConferenceErrorKind.INVALID: 400,
    ConferenceErrorKind.READ_ONLY: 403,
}


def _refused(exc: ConferenceError) -> ApiError:
    return ApiError(exc.message, _STATUS[exc.kind])


def participant_json(member: Participant) -> dict[str, Any]:
    channel = member.channel
    return {
        "participant_id": member.id,
        "number": member.number,
        "channel": channel.name,
        "direction": str(channel.direction),
        "muted": "true" if member.muted else "false",
        "joined_at": round(member.joined_at, 3),
    }


def routes(ctx: AppContext) -> list[BaseRoute]:
    rooms = ctx.switch.conferences

    def room_json(room: ConferenceConfig) -> dict[str, Any]:
        live = rooms.live(room.number)
        return {
            "room": room.number,
            "name": room.name,
            "pin": room.pin,
            "record": "true" if room.record else "false",
            "max_participants": room.max_participants,
            "participants": len(live) if live is not None else 0,
            # the WAV being written (GET /api/recordings/{name} once the room empties)
            "recording_name": live.recording.path.name if live and live.recording else "",
            "source": "config" if rooms.from_config(room.number) else "api",
        }

    async def owned(request: Request) -> ConferenceConfig:
        """The path's room, when the caller's account owns it (else a 404)."""
        account = await account_of(request, ctx)
        try:
            return rooms.owned(account.id, request.path_params["room"])
        except ConferenceError as exc:
            raise _refused(exc) from None

    def member_of(room: ConferenceConfig, request: Request) -> tuple[Room, Participant]:
        live = rooms.live(room.number)
        pid = request.path_params["participant_id"]
        member = live.participant(pid) if live is not None else None
        if live is None or member is None:
            raise ApiError(f"participant_id: nobody {pid} in conference {room.number}", 404)
        return live, member

    @endpoint
    async def collection(request: Request) -> Response:
        account = await account_of(request, ctx)
        if request.method == "GET":
            items = [room_json(r) for r in rooms.of_account(account.id)]
            return listed("conferences", items)
        body = await parse_body(request, ConferenceCreate)
        settings = ConferenceConfig(
            body.room, body.pin, body.name, body.record, body.max_participants, account.id
        )
        try:
            rooms.create(settings)
        except ConferenceError as exc:
            raise _refused(exc) from None
        return ok(message="conference created", result=room_json(settings))

    @endpoint
    async def one(request: Request) -> Response:
        room = await owned(request)
        try:
            if request.method == "GET":
                return ok(message="conference found", result=room_json(room))
            if request.method == "DELETE":
                await rooms.delete(room.account, room.number)
                return ok(message="conference deleted", room=room.number)
            body = await parse_body(request, ConferenceUpdate)
            changes = body.model_dump(exclude_none=True)
            updated = rooms.update(room.account, room.number, **changes)
        except ConferenceError as exc:
            raise _refused(exc) from None
        return ok(message="conference modified", result=room_json(updated))

    @endpoint
    async def participants(request: Request) -> Response:
        room = await owned(request)
        if request.method == "GET":
            live = rooms.live(room.number)
            items = [participant_json(m) for m in live.participants] if live else []
            return listed("participants", items)
        body = await parse_body(request, ParticipantDial)
        try:
            channel = await ctx.switch.dial_conference(
                room.number, body.number, caller_id=body.caller_id
            )
        except SwitchError as exc:
            raise ApiError(f"number: {exc.reason}", 404 if exc.status == 404 else 409) from None
        return ok(message="calling into the conference", channel=channel.name)

    @endpoint
    async def participant(request: Request) -> Response:
        room = await owned(request)
        live, member = member_of(room, request)
        if request.method == "DELETE":
            await live.kick(member)
            return ok(message="participant removed", participant_id=member.id)
        body = await parse_body(request, ParticipantUpdate)
        live.mute(member, body.muted)
        return ok(message="participant modified", result=participant_json(member))

    room = {"room": "the room's number"}
    member = room | {"participant_id": "a participant_id of the room's participants"}
    return [
        route(
            "/api/conferences",
            collection,
            {
                "GET": Operation(
                    "The account's conference rooms", CPAAS, ok=Envelope[Listing[RoomReply]]
                ),
                "POST": Operation(
                    "Create a conference room",
                    CPAAS,
                    body=ConferenceCreate,
                    ok=Envelope[Found[RoomReply]],
                    errors=(409,),
                    example={"room": "800", "pin": "1234", "name": "sales", "record": "false"},
                ),
            },
        ),
        route(
            "/api/conferences/{room}",
            one,
            {
                "GET": Operation(
                    "One room",
                    CPAAS,
                    ok=Envelope[Found[RoomReply]],
                    errors=(404,),
                    path_params=room,
                ),
                "PATCH": Operation(
                    "Change a room (the config file's rooms are read-only)",
                    CPAAS,
                    body=ConferenceUpdate,
                    ok=Envelope[Found[RoomReply]],
                    errors=(403, 404),
                    path_params=room,
                    example={"pin": "4321"},
                ),
                "DELETE": Operation(
                    "Delete a room (whoever is in it is hung up)",
                    CPAAS,
                    ok=Envelope[RoomDeleted],
                    errors=(403, 404),
                    path_params=room,
                ),
            },
        ),
        route(
            "/api/conferences/{room}/participants",
            participants,
            {
                "GET": Operation(
                    "Who is in the room now",
                    CPAAS,
                    ok=Envelope[Listing[ParticipantReply]],
                    errors=(404,),
                    path_params=room,
                ),
                "POST": Operation(
                    "Call a number into the room",
                    CPAAS,
                    body=ParticipantDial,
                    ok=Envelope[Dialing],
                    errors=(404, 409),
                    path_params=room,
                    example={"number": "101"},
                ),
            },
        ),
        route(
            "/api/conferences/{room}/participants/{participant_id}",
            participant,
            {
                "PATCH": Operation(
                    "Mute or unmute a participant",
                    CPAAS,
                    body=ParticipantUpdate,
                    ok=Envelope[Found[ParticipantReply]],
                    errors=(404,),
                    path_params=member,
                    example={"muted": True},
                ),
                "DELETE": Operation(
                    "Hang up a participant",
                    CPAAS,
                    ok=Envelope[ParticipantRemoved],
                    errors=(404,),
                    path_params=member,
                ),
            },
        ),
    ]
