"""Files of an account: uploads (CSV contact lists, WAV prompts) and call recordings.

    POST /api/upload                 multipart/form-data, field ``file`` (one or more);
                                     optional field ``file_name`` renames a single file
    GET  /api/upload                 the account's uploaded files
    GET  /api/recordings/{name}      download a recording (the CDR's ``recording_name``)

Uploads land in ``media.uploads_dir/<account>/``, where flows (`play`) and the campaign
manager (`csv_name`, `recorded_filename`) look for them. An upload is checked (audio
decodes, CSV is text) in a temporary file and only then moved into place, so a
refused upload leaves nothing behind and a replaced file is never seen half-written.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, Field, WithJsonSchema
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute

from api.openapi.operation import Operation, Reply, route
from media.prompt import load_audio

from .auth import account_of
from .replies import CPAAS, Envelope, FileItem, Listing, Uploaded, UploadedMany
from .responses import ApiError, endpoint, listed, ok

if TYPE_CHECKING:
    from api.context import AppContext

MAX_UPLOAD = 50 * 1024 * 1024
MAX_FILES = 10
FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\- ]{0,127}\Z")
AUDIO = (".wav", ".mp3", ".ogg")
TEXT = (".csv", ".txt")


def safe_name(name: str, field: str = "file") -> str:
    """A plain file name (no directories, no leading dot) with an accepted extension."""
    name = name.strip()
    if not FILE_NAME.match(name) or ".." in name:
        raise ApiError(
            f"{field}: invalid file name {name!r} (letters, digits, . _ - and "
            "spaces, no directories)"
        )
    if not name.lower().endswith(AUDIO + TEXT):
        raise ApiError(f"{field}: {name!r} must end in one of {', '.join(AUDIO + TEXT)}")
    return name


def check_content(path: Path, name: str) -> None:
    """Raise ApiError when the file's content does not match its extension."""
    if name.lower().endswith(AUDIO):
        try:
            load_audio(path)
        except Exception as exc:  # any decoder failure means the file cannot be played
            raise ApiError(f"file: {name} is not playable audio: {exc}") from None
        return
    try:
        with open(path, encoding="utf-8-sig") as fh:
            while fh.read(1 << 20):
                pass
    except UnicodeDecodeError:
        raise ApiError(f"file: {name} is not UTF-8 text") from None


def store_upload(upload: UploadFile, directory: Path, name: str) -> int:
    """Copy to a temporary file beside the target, check it, then rename it into place."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=directory, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            upload.file.seek(0)
            while chunk := upload.file.read(1 << 20):
                out.write(chunk)
        size = os.path.getsize(temp)
        if size == 0:
            raise ApiError(f"file: {name} is empty")
        check_content(Path(temp), name)
        os.replace(temp, directory / name)
        return size
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


async def capped(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(f"upload too large (limit {limit // (1024 * 1024)} MiB)")
        yield chunk


def routes(ctx: AppContext) -> list[BaseRoute]:
    uploads_root = Path(ctx.config.media.uploads_dir)
    recordings_root = Path(ctx.config.media.recordings_dir)

    async def upload(request: Request) -> Response:
        account = await account_of(request, ctx)
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            raise ApiError("upload as multipart/form-data with a field named file")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_UPLOAD:
            raise ApiError(f"upload too large (limit {MAX_UPLOAD // (1024 * 1024)} MiB)")
        parser = MultiPartParser(
            request.headers,
            capped(request, MAX_UPLOAD),
            max_files=MAX_FILES,
            max_fields=MAX_FILES + 5,
        )
        try:
            form = await parser.parse()
        except MultiPartException as exc:
            raise ApiError(f"invalid multipart body: {exc.message}") from None
        try:
            files = [f for f in form.getlist("file") if isinstance(f, UploadFile)]
            if not files:
                raise ApiError("file: field required (a file part named file)")
            rename = form.get("file_name")
            if isinstance(rename, str) and rename.strip() and len(files) > 1:
                raise ApiError("file_name: only with a single file")
            names = [
                safe_name(
                    rename if isinstance(rename, str) and rename.strip() else f.filename or "",
                    "file_name" if rename else "file",
                )
                for f in files
            ]
            if len(set(names)) != len(names):
                raise ApiError("file: the same file name twice")
            directory = uploads_root / account.id
            loop = asyncio.get_running_loop()
            stored = []
            for f, name in zip(files, names, strict=False):
                size = await loop.run_in_executor(None, store_upload, f, directory, name)
                stored.append({"file_name": name, "size": size})
        finally:
            await form.close()
        if len(stored) == 1:
            return ok(message="file uploaded successfully", **stored[0])
        return ok(message=f"({len(stored)}) files uploaded successfully", result=stored)

    async def listing(request: Request) -> Response:
        account = await account_of(request, ctx)
        directory = uploads_root / account.id
        items = (
            sorted(
                (
                    {"file_name": p.name, "size": p.stat().st_size}
                    for p in directory.glob("*")
                    if p.is_file() and not p.name.startswith(".")
                ),
                key=lambda i: str(i["file_name"]),
            )
            if directory.is_dir()
            else []
        )
        return listed("files", items)

    @endpoint
    async def recording(request: Request) -> Response:
        account = await account_of(request, ctx)
        name = request.path_params["name"]
        if not FILE_NAME.match(name) or ".." in name or not name.endswith(".wav"):
            raise ApiError(f"recording {name!r} not found", 404)
        path = recordings_root / account.id / name
        if not path.is_file():
            raise ApiError(f"recording {name!r} not found", 404)
        return FileResponse(path, media_type="audio/wav", filename=name)

    handlers = {"POST": endpoint(upload), "GET": endpoint(listing)}

    async def dispatch(request: Request) -> Response:
        return await handlers[request.method](request)

    upload_op = Operation(
        "Upload CSV contact lists or WAV/MP3/OGG prompts (multipart, field `file`)",
        CPAAS,
        body=UploadForm,
        body_media_type="multipart/form-data",
        ok=Envelope[Uploaded] | Envelope[UploadedMany],
    )
    return [
        route(
            "/api/upload",
            dispatch,
            {
                "POST": upload_op,
                "GET": Operation(
                    "The account's uploaded files", CPAAS, ok=Envelope[Listing[FileItem]]
                ),
            },
        ),
        route(
            "/api/recordings/{name}",
            recording,
            {
                "GET": Operation(
                    "Download a call recording (a CDR's recording_name)",
                    CPAAS,
                    ok=Reply(bytes, "audio/wav", "the recording (WAV)"),
                    errors=(404,),
                    path_params={"name": "the CDR's recording_name"},
                )
            },
        ),
    ]


class UploadForm(BaseModel):
    """The multipart form of an upload."""

    file: list[Annotated[bytes, WithJsonSchema({"type": "string", "format": "binary"})]] = Field(
        min_length=1, max_length=MAX_FILES, description="one or more files"
    )
    file_name: str | None = Field(None, description="a new name for a single file")
