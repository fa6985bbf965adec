"""API errors as metav1.Status, with upstream's reasons, codes and message texts.

Every failure a client can see is a StatusError; the API server turns it into the
JSON Status body, and kubectl prints `Error from server (<reason>): <message>`.
"""

from __future__ import annotations

from typing import Any


class StatusError(Exception):
    """A failure that becomes a metav1.Status response."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
        }
        if self.reason:
            body["reason"] = self.reason
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body

    def __repr__(self) -> str:
        return f"StatusError({self.code}, {self.reason!r}, {self.message!r})"


def qualified(resource: str, group: str) -> str:
    """`deployments.apps`, or `pods` for the core group, as upstream names a resource in messages."""
    return f"{resource}.{group}" if group else resource


def _details(name: str | None, group: str, kind: str, **extra: Any) -> dict[str, Any]:
    d: dict[str, Any] = {}
    if name:
        d["name"] = name
    if group:
        d["group"] = group
    if kind:
        d["kind"] = kind
    d.update({k: v for k, v in extra.items() if v is not None})
    return d


def not_found(resource: str, group: str, name: str) -> StatusError:
    return StatusError(
        404,
        "NotFound",
        f'{qualified(resource, group)} "{name}" not found',
        _details(name, group, resource),
    )


def not_found_path() -> StatusError:
    return StatusError(404, "NotFound", "the server could not find the requested resource", {})


def already_exists(resource: str, group: str, name: str) -> StatusError:
    return StatusError(
        409,
        "AlreadyExists",
        f'{qualified(resource, group)} "{name}" already exists',
        _details(name, group, resource),
    )


def conflict(resource: str, group: str, name: str, why: str) -> StatusError:
    return StatusError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified(resource, group)} "{name}": {why}',
        _details(name, group, resource),
    )


def conflict_modified(resource: str, group: str, name: str) -> StatusError:
    return conflict(
        resource,
        group,
        name,
        "the object has been modified; please apply your changes to the latest version and try again",
    )


class Cause(dict):
    """One metav1.StatusCause: reason, message, field."""

    def __init__(self, field: str, reason: str, message: str) -> None:
        super().__init__(reason=reason, message=message, field=field)


def field_required(field: str) -> Cause:
    return Cause(field, "FieldValueRequired", "Required value")


def field_invalid(field: str, value: Any, detail: str) -> Cause:
    return Cause(field, "FieldValueInvalid", f"Invalid value: {_render_value(value)}: {detail}")


def field_unsupported(field: str, value: Any, allowed: list[str]) -> Cause:
    quoted = ", ".join(f'"{a}"' for a in allowed)
    return Cause(
        field,
        "FieldValueNotSupported",
        f"Unsupported value: {_render_value(value)}: supported values: {quoted}",
    )


def field_forbidden(field: str, detail: str) -> Cause:
    return Cause(field, "FieldValueForbidden", f"Forbidden: {detail}")


def field_duplicate(field: str, value: Any) -> Cause:
    return Cause(field, "FieldValueDuplicate", f"Duplicate value: {_render_value(value)}")


def field_immutable(field: str, value: Any) -> Cause:
    return field_invalid(field, value, "field is immutable")


def _render_value(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict | list):
        return (
            '"' + str(value) + '"' if not value else "{...}" if isinstance(value, dict) else "[...]"
        )
    return str(value)


def invalid(kind: str, group: str, name: str, causes: list[Cause]) -> StatusError:
    """422 Invalid: `Deployment.apps "x" is invalid: [spec.replicas: Invalid value: ...]`."""
    kind_q = f"{kind}.{group}" if group else kind
    parts = [f"{c['field']}: {c['message']}" if c.get("field") else c["message"] for c in causes]
    joined = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    return StatusError(
        422,
        "Invalid",
        f'{kind_q} "{name}" is invalid: {joined}',
        _details(name, group, kind, causes=[dict(c) for c in causes]),
    )


def bad_request(message: str) -> StatusError:
    return StatusError(400, "BadRequest", message)


def method_not_allowed(verb: str, what: str) -> StatusError:
    return StatusError(
        405, "MethodNotAllowed", f"{verb} is not supported on resources of kind {what!r}", {}
    )


def unsupported_media_type(content_type: str) -> StatusError:
    return StatusError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media types include: {content_type}",
    )


def not_acceptable(accepted: str) -> StatusError:
    return StatusError(
        406, "NotAcceptable", f"only the following media types are accepted: {accepted}"
    )


def request_entity_too_large(limit: int) -> StatusError:
    return StatusError(413, "RequestEntityTooLarge", f"Request entity too large: limit is {limit}")


def gone(message: str) -> StatusError:
    return StatusError(410, "Expired", message)


def too_many_requests(message: str, retry_after: int | None = None) -> StatusError:
    details = (
        {"causes": [{"reason": "DisruptionBudget", "message": message}]}
        if retry_after is None
        else {"retryAfterSeconds": retry_after}
    )
    return StatusError(429, "TooManyRequests", message, details)


def unauthorized() -> StatusError:
    return StatusError(401, "Unauthorized", "Unauthorized")


def forbidden(message: str) -> StatusError:
    return StatusError(403, "Forbidden", message)


def internal(message: str) -> StatusError:
    return StatusError(500, "InternalError", f"Internal error occurred: {message}")


def service_unavailable(message: str) -> StatusError:
    return StatusError(503, "ServiceUnavailable", message)
