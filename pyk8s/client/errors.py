"""ApiError: a server's metav1.Status, raised on the client side.

It is a `StatusError` (the same type the API server raises), so controller code
tests `err.code == 409` or `err.reason == "AlreadyExists"` whichever side it runs on.
"""

from __future__ import annotations

from typing import Any

import orjson

from pyk8s.machinery.errors import StatusError

# The reason a client assumes when the body carries none (as client-go does for bare codes).
_REASON_BY_CODE = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


class ApiError(StatusError):
    """A non-2xx answer (or a watch ERROR event); `.body` is the Status as received."""

    def __init__(self, status: dict[str, Any], code: int | None = None) -> None:
        status_code = status.get("code")
        if not status_code and status.get("reason") in ("Expired", "Gone"):
            status_code = 410
        final = int(status_code or code or 500)
        reason = status.get("reason") or _REASON_BY_CODE.get(final, "Unknown")
        super().__init__(final, reason, status.get("message", ""), status.get("details"))
        self.body = status

    def __str__(self) -> str:
        return f"({self.reason}) {self.message}" if self.message else self.reason

    def __repr__(self) -> str:
        return f"ApiError({self.code}, {self.reason!r}, {self.message!r})"


def error_from_response(http_status: int, body: bytes) -> ApiError:
    """The server's Status if the body is one, else a Status made from the HTTP code and text."""
    try:
        doc = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        doc = None
    if isinstance(doc, dict) and doc.get("kind") == "Status":
        return ApiError(doc, http_status)
    text = body.decode(errors="replace").strip()
    return ApiError(
        {"message": text or f"the server responded with HTTP {http_status}"}, http_status
    )


def is_not_found(err: BaseException) -> bool:
    return isinstance(err, StatusError) and err.code == 404


def is_conflict(err: BaseException) -> bool:
    return isinstance(err, StatusError) and err.code == 409 and err.reason == "Conflict"


def is_already_exists(err: BaseException) -> bool:
    return isinstance(err, StatusError) and err.reason == "AlreadyExists"


def is_gone(err: BaseException) -> bool:
    return isinstance(err, StatusError) and err.code == 410
