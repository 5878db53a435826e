"""Errors a resolver raises on purpose. Each carries the `extensions.code` clients see; anything else that
escapes a resolver is unexpected and gets masked with a request id.

    ApiError
     ├── Unauthenticated   UNAUTHENTICATED   no valid credentials
     ├── Forbidden         FORBIDDEN         authenticated, but the role or tenant does not allow it
     ├── NotFound          NOT_FOUND         absent, or invisible to this principal (indistinguishable on purpose)
     ├── InvalidInput      BAD_USER_INPUT    an argument is wrong; `field` names it
     └── Conflict          CONFLICT          the request contradicts the current state
"""

from __future__ import annotations


class ApiError(Exception):
    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthenticated(ApiError):
    code = "UNAUTHENTICATED"


class Forbidden(ApiError):
    code = "FORBIDDEN"


class NotFound(ApiError):
    code = "NOT_FOUND"


class InvalidInput(ApiError):
    code = "BAD_USER_INPUT"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Conflict(ApiError):
    code = "CONFLICT"
