"""Can a number be dialed? A local extension, a number in a trunk's configured prefix
plan, or an international number phonenumbers accepts that some trunk carries."""

from __future__ import annotations

from typing import TYPE_CHECKING

import phonenumbers

from .responses import ApiError

if TYPE_CHECKING:
    from api.context import AppContext

# Shorter numbers are extensions or carrier short codes: phonenumbers cannot judge them.
MIN_INTERNATIONAL_DIGITS = 8


def valid_international(number: str) -> bool:
    try:
        parsed = phonenumbers.parse("+" + number.lstrip("+"), None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(parsed)


def check_dialable(ctx: AppContext, field: str, number: str) -> str:
    """The digits to dial for ``number`` (normalized by the model), or ApiError(400)
    naming ``field``."""
    digits = number.lstrip("+")
    if ctx.store.extension(digits) is not None:
        return digits
    route = ctx.switch.router.route(digits)
    trunk = route.trunk if route is not None else None
    # A trunk whose configured prefix matches was told by the operator that it carries
    # such numbers (a carrier's own plan, short codes); a catch-all trunk was not.
    if trunk is not None and trunk.prefix_match(digits) > 0:
        return digits
    if len(digits) < MIN_INTERNATIONAL_DIGITS:
        raise ApiError(f"{field}: {number!r} is not a local extension")
    if not valid_international(digits):
        raise ApiError(f"{field}: {number!r} is not a valid number with country code")
    if trunk is None:
        raise ApiError(f"{field}: no route to {number!r} (no trunk carries it)")
    return digits
