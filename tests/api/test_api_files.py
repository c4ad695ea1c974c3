"""Uploads into the account's area (checked before they land) and recording downloads."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np

from tests.api.conftest import ACCOUNT_1, ACCOUNT_2


def wav_bytes(seconds: float = 0.5) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        t = np.arange(int(8000 * seconds)) / 8000
        out.writeframes((np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2").tobytes())
    return buffer.getvalue()


async def upload(api_env, files, data=None, headers=ACCOUNT_1):
    response = await api_env.client.post(
        "/api/upload", files=files, data=data or {}, headers=headers
    )
    return response.status_code, response.json()


def area(api_env, account: str = "account_1") -> Path:
    return Path(api_env.config.media.uploads_dir) / account


async def test_upload_csv_and_wav(api_env) -> None:
    csv = b"contact_name,contact_number,field1\nankit,919979271234,Ankit\n"
    status, body = await upload(api_env, {"file": ("contacts.csv", csv, "text/csv")})
    assert status == 200, body
    assert body["response"] == {
        "message": "file uploaded successfully",
        "file_name": "contacts.csv",
        "size": len(csv),
        "success": "true",
    }
    assert (area(api_env) / "contacts.csv").read_bytes() == csv
    status, body = await upload(
        api_env, {"file": ("x.bin", wav_bytes(), "audio/wav")}, data={"file_name": "welcome.wav"}
    )
    assert status == 200 and body["response"]["file_name"] == "welcome.wav"
    status, body = await api_env.call("GET", "/api/upload")
    assert [f["file_name"] for f in body["response"]["result"]] == ["contacts.csv", "welcome.wav"]
    status, body = await api_env.call("GET", "/api/upload", headers=ACCOUNT_2)
    assert body["response"]["result"] == []


async def test_refused_uploads_leave_nothing(api_env) -> None:
    cases = [
        ({"file": ("prompt.wav", b"RIFF....not audio at all", "audio/wav")}, "not playable"),
        ({"file": ("../evil.csv", b"a,b\n", "text/csv")}, "invalid file name"),
        ({"file": (".hidden.csv", b"a,b\n", "text/csv")}, "invalid file name"),
        ({"file": ("run.sh", b"echo", "text/plain")}, "must end in"),
        ({"file": ("latin.csv", "name\nJosé\n".encode("latin-1"), "text/csv")}, "not UTF-8"),
        ({"file": ("empty.csv", b"", "text/csv")}, "empty"),
        ({"other": ("a.csv", b"a\n", "text/csv")}, "file: field required"),
    ]
    for files, message in cases:
        status, body = await upload(api_env, files)
        assert status == 400 and message in body["response"]["message"], (files, body)
    directory = area(api_env)
    assert not directory.exists() or list(directory.iterdir()) == []


async def test_upload_needs_multipart(api_env) -> None:
    status, body = await api_env.call("POST", "/api/upload", {"file": "x"})
    assert status == 400 and "multipart" in body["response"]["message"]


async def test_recordings_are_per_account(api_env) -> None:
    directory = Path(api_env.config.media.recordings_dir) / "account_1"
    directory.mkdir(parents=True)
    (directory / "0123456789.wav").write_bytes(wav_bytes())
    response = await api_env.client.get("/api/recordings/0123456789.wav", headers=ACCOUNT_1)
    assert response.status_code == 200 and response.content == wav_bytes()
    assert response.headers["content-type"] == "audio/wav"
    response = await api_env.client.get("/api/recordings/0123456789.wav", headers=ACCOUNT_2)
    assert response.status_code == 404
    assert response.json()["response"]["success"] == "false"
    for name in ("..%2Faccount_1%2F0123456789.wav", "missing.wav", "0123456789.txt"):
        response = await api_env.client.get(f"/api/recordings/{name}", headers=ACCOUNT_1)
        assert response.status_code == 404, name
