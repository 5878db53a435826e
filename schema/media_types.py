"""GraphQL over HTTP (graphql.github.io/graphql-over-http): which media type a response uses and its status.

`application/graphql-response+json`, when the Accept header prefers it: 200 once execution started (field errors
included, even with `data` null), 400 for a request that never executed (bad JSON, a document that does not parse
or validate, variables that do not coerce), without a `data` entry, 500 for a fault before execution (503 when
the database could not be reached).
`application/json` (no Accept header, `*/*`, or preferred): 200 for every GraphQL result, as before. Transport
refusals (401, 403, 413, 415, 429) keep their status under both.
"""

from __future__ import annotations

from typing import Any

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"

_SERVER_FAULTS = frozenset({"INTERNAL_SERVER_ERROR", "TIMEOUT"})
DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE"  # schema/execution.py: no database connection could be had


def response_media_type(accept: str | None) -> str:
    """graphql-response+json when the client weighs it at least as high as application/json, else application/json
    (also for no Accept header, wildcards only, or unsupported types: what clients got before)."""
    weights = {GRAPHQL_RESPONSE: 0.0, JSON: 0.0}
    for part in (accept or "").split(","):
        media, _, params = part.partition(";")
        media = media.strip().lower()
        if media in weights:
            weights[media] = max(weights[media], _quality(params))
    if weights[GRAPHQL_RESPONSE] > 0 and weights[GRAPHQL_RESPONSE] >= weights[JSON]:
        return GRAPHQL_RESPONSE
    return JSON


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return min(max(float(value.strip()), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


def executed(body: dict[str, Any]) -> bool:
    """Whether execution started: a non-null `data`, or an error located in it (a field's path)."""
    if body.get("data") is not None:
        return True
    return any("path" in error for error in body.get("errors", []))


def graphql_status(body: dict[str, Any], media_type: str) -> tuple[int, dict[str, Any]]:
    """The status and body to send for `execute`'s result under `media_type`."""
    if media_type == JSON or executed(body):
        return 200, body
    codes = {error.get("extensions", {}).get("code") for error in body.get("errors", [])}
    status = 503 if DATABASE_UNAVAILABLE in codes else 500 if codes & _SERVER_FAULTS else 400
    return status, {key: value for key, value in body.items() if key != "data"}
