"""The HTTP client the admin commands use to reach a running switch: its admin API
(``Authorization: Bearer <admin token>``) or, for imports, the CPaaS API as an account
(``account``/``auth`` headers). Standard library only: the CLI must not need the test
extras, and these are a handful of small JSON requests."""

from __future__ import annotations

import argparse
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from softswitch.config import ConfigError, load

DEFAULT_URL = "http://127.0.0.1:8080"
TIMEOUT = 30.0


class ClientError(Exception):
    """A request the switch refused or could not be sent; the message says which."""


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        help="the switch's API, e.g. http://127.0.0.1:8080 (default: $SOFTSWITCH_URL, "
        "else [api] listen of --config, else " + DEFAULT_URL + ")",
    )
    parser.add_argument("--config", help="TOML configuration file (for the API's address)")


def base_url(args: argparse.Namespace) -> str:
    if args.url:
        return str(args.url).rstrip("/")
    if os.environ.get("SOFTSWITCH_URL"):
        return os.environ["SOFTSWITCH_URL"].rstrip("/")
    if args.config:
        try:
            host, port = load(args.config).api_host_port
        except ConfigError as exc:
            raise ClientError(f"configuration error: {exc}") from None
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        return f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    return DEFAULT_URL


class ApiClient:
    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url = url
        self.headers = headers

    @classmethod
    def admin(cls, args: argparse.Namespace) -> ApiClient:
        token = args.token or os.environ.get("SOFTSWITCH_ADMIN_TOKEN", "")
        if not token:
            raise ClientError(
                "an admin token is needed: --token or $SOFTSWITCH_ADMIN_TOKEN "
                "(make one with `softswitch admin token`)"
            )
        return cls(base_url(args), {"Authorization": f"Bearer {token}"})

    def get(self, path: str, **params: str) -> Any:
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v})
        return self.request("GET", path + (f"?{query}" if query else ""))

    def post(self, path: str, body: object) -> Any:
        return self.request("POST", path, body)

    def request(self, method: str, path: str, body: object = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = dict(self.headers)
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.url + path, data, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise ClientError(f"{exc.code}: {_message(exc.read())}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ClientError(f"cannot reach the switch at {self.url}: {reason}") from None


def _message(body: bytes) -> str:
    """The error message of either API's envelope, else the body's start."""
    try:
        data = json.loads(body)
    except ValueError:
        return body[:200].decode(errors="replace")
    if isinstance(data, dict):
        inner = data.get("error") or data.get("response") or {}
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return json.dumps(data)[:200]
