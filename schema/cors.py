"""CORS for browser frontends on other origins: only the configured origins, only POST /graphql's headers.

Credentials (cookies, HTTP auth) are never allowed: the API authenticates with a bearer token that the frontend
sends itself, so no browser-held credential can be used by another origin. The CSRF defence stays the JSON-only
POST, which a browser sends cross-origin only after a preflight these origins pass.
"""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

ALLOWED_METHODS = ("POST",)
ALLOWED_HEADERS = ("Authorization", "Content-Type", "Accept", "X-Tenant", "X-Request-Id")
EXPOSED_HEADERS = ("X-Request-Id", "Retry-After")
PREFLIGHT_MAX_AGE_S = 600


def cors_middleware(origins: list[str]) -> list[Middleware]:
    """Starlette's pure-ASGI CORS middleware for `origins`, or nothing when there are none."""
    if not origins:
        return []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=ALLOWED_METHODS,
            allow_headers=ALLOWED_HEADERS,
            expose_headers=EXPOSED_HEADERS,
            allow_credentials=False,
            max_age=PREFLIGHT_MAX_AGE_S,
        )
    ]
