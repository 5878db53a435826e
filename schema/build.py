"""The Strawberry schema, with the per-request limits as extension factories (never shared instances)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from schema.roots.billing_mutation import BillingMutation
from schema.roots.billing_query import BillingQuery
from schema.roots.captable_mutation import CapTableMutation
from schema.roots.captable_query import CapTableQuery
from schema.roots.costs_mutation import CostsMutation
from schema.roots.costs_query import CostsQuery
from schema.roots.financials_mutation import FinancialsMutation
from schema.roots.financials_query import FinancialsQuery
from schema.roots.tenancy_mutation import TenancyMutation
from schema.roots.tenancy_query import TenancyQuery

# One class per domain; each domain adds its own here.
QUERIES: tuple[type, ...] = (TenancyQuery, CapTableQuery, FinancialsQuery, CostsQuery, BillingQuery)
MUTATIONS: tuple[type, ...] = (
    TenancyMutation, CapTableMutation, FinancialsMutation, CostsMutation, BillingMutation
)


@dataclass(frozen=True)
class Limits:
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 2_000
    introspection: bool = True


class RoundpoolSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Errors are classified and logged with the request id by `schema.execution`."""


def build_schema(limits: Limits = Limits()) -> strawberry.Schema:
    parser_cache, validation_cache = ParserCache(maxsize=256), ValidationCache(maxsize=256)
    extensions: list[Any] = [
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        lambda: QueryDepthLimiter(max_depth=limits.max_depth),
        lambda: MaxAliasesLimiter(max_alias_count=limits.max_aliases),
        # Shared on purpose: keyed by document text, they hold no tenant data, and a per-request cache is none.
        lambda: parser_cache,
        lambda: validation_cache,
    ]
    if not limits.introspection:
        extensions.append(DisableIntrospection)
    query = merge_types("Query", QUERIES)
    mutation = merge_types("Mutation", MUTATIONS)
    return RoundpoolSchema(query=query, mutation=mutation, extensions=extensions)
