"""Global ids: the one codec for every `ID` the API hands out for a Node type and takes back.

A global id is base64url of "<GraphQL type>:<uuid>". Decoding is strict (a known type, a canonical uuid,
bounded length) and names the argument it came from; an id of another type than the argument takes is
refused the same way as a malformed one (BAD_USER_INPUT): the type is readable in the id itself, so saying
so reveals nothing, and no row is read for it.
"""

from __future__ import annotations

import base64
import binascii
import functools
from typing import Literal, get_args
from uuid import UUID

from resolvers.common.errors import InvalidInput

NodeType = Literal[
    "CostAssembly",
    "CostImport",
    "FinancialReport",
    "Fund",
    "FundFlow",
    "FundInvestment",
    "Invitation",
    "Invoice",
    "InvoiceRun",
    "KpiDefinition",
    "KpiReport",
    "KpiRequest",
    "PortfolioGrant",
    "PricingPlan",
    "StagedImport",
    "Tenant",
    "User",
]
_BY_NAME: dict[str, NodeType] = {name: name for name in get_args(NodeType)}
NODE_TYPE_NAMES: frozenset[str] = frozenset(_BY_NAME)
MAX_GLOBAL_ID_LENGTH = 128


def as_node_type(name: str) -> NodeType:
    """`name` as a Node type's name; a type that is not one is a programming error."""
    return _BY_NAME[name]


@functools.lru_cache(maxsize=16_384)  # ids only, no tenant data; lists repeat them (an event's actor, a company)
def encode_global_id(type_name: NodeType, key: UUID) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).decode()


def parse_global_id(value: str, field: str) -> tuple[NodeType, UUID]:
    """The type and uuid a well-formed global id names, whatever its type."""
    refusal = InvalidInput(f"{value[:80]!r} is not a global id (pass an `id` the API returned)", field=field)
    if len(value) > MAX_GLOBAL_ID_LENGTH:
        raise refusal
    try:
        raw = base64.b64decode(value.encode("ascii"), altchars=b"-_", validate=True).decode("utf-8")
    except (UnicodeError, binascii.Error, ValueError):
        raise refusal from None
    name, _, key = raw.partition(":")
    type_name = _BY_NAME.get(name)
    if type_name is None or len(key) != 36:
        raise refusal
    try:
        parsed = UUID(key)
    except ValueError:
        raise refusal from None
    if str(parsed) != key:  # one spelling per object, so ids compare as strings
        raise refusal
    return type_name, parsed


def decode_global_id(expected: NodeType, value: str, field: str) -> UUID:
    """The uuid of the `expected` object a client named by its global id in argument `field`."""
    type_name, key = parse_global_id(value, field)
    if type_name != expected:
        raise InvalidInput(f"`{field}` takes the id of a {expected}, not of a {type_name}", field=field)
    return key


def decode_optional_global_id(expected: NodeType, value: str | None, field: str) -> UUID | None:
    return None if value is None else decode_global_id(expected, value, field)


def quoting_global_id(message: str, type_name: NodeType, key: UUID | None) -> str:
    """A database message (a trigger's, which can only quote the raw uuid) naming the object by its global id."""
    return message if key is None else message.replace(str(key), encode_global_id(type_name, key))
