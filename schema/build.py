"""The Strawberry schema, with the limits as validation rules built once and the documents cached by text
(schema/documents.py); extensions are factories, never shared instances."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

import strawberry
from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from schema.documents import CachedDocuments, DocumentCache, DocumentRules
from schema.executor import RoundpoolExecutor
from schema.plain_fields import read_plain_fields_directly
from schema.roots.billing_mutation import BillingMutation
from schema.roots.billing_query import BillingQuery
from schema.roots.captable_mutation import CapTableMutation
from schema.roots.captable_query import CapTableQuery
from schema.roots.cost_assemblies import CostAssembliesMutation, CostAssembliesQuery
from schema.roots.costs_mutation import CostsMutation
from schema.roots.costs_query import CostsQuery
from schema.roots.financials_mutation import FinancialsMutation
from schema.roots.financials_query import FinancialsQuery
from schema.roots.node_query import NodeQuery
from schema.roots.report_sources import ReportSourcesMutation, ReportSourcesQuery
from schema.roots.scenarios_query import ScenariosQuery
from schema.roots.staged_imports_mutation import StagedImportsMutation
from schema.roots.staged_imports_query import StagedImportsQuery
from schema.roots.subscriptions import Subscription
from schema.roots.tenancy_mutation import TenancyMutation
from schema.roots.tenancy_query import TenancyQuery
from schema.types.counts import COUNT, Count
from schema.types.decimals import DECIMAL

# One class per domain; each domain adds its own here.
QUERIES: tuple[type, ...] = (
    TenancyQuery,
    CapTableQuery,
    ScenariosQuery,
    StagedImportsQuery,
    FinancialsQuery,
    CostsQuery,
    CostAssembliesQuery,
    ReportSourcesQuery,
    BillingQuery,
    NodeQuery,
)
MUTATIONS: tuple[type, ...] = (
    TenancyMutation,
    CapTableMutation,
    StagedImportsMutation,
    FinancialsMutation,
    CostsMutation,
    CostAssembliesMutation,
    ReportSourcesMutation,
    BillingMutation,
)


@dataclass(frozen=True)
class Limits:
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 2_000
    introspection: bool = True
    document_cache_size: int = 256


# graphql-core's "Did you mean …?" (fields, arguments, types, enum values, input fields) names parts of the
# schema; its suggestions are quoted GraphQL names, which never contain '?'.
_SUGGESTION = re.compile(r" ?Did you mean [^?]*\?")


class RoundpoolSchema(strawberry.Schema):
    def __init__(
        self,
        *args: Any,
        hide_suggestions: bool = False,
        documents: DocumentCache,
        document_rules: DocumentRules,
        observed: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        read_plain_fields_directly(self._schema, self.config.default_resolver)
        self.hide_suggestions = hide_suggestions
        self.documents = documents  # the trusted documents are pinned here at start-up
        self.document_rules = document_rules
        # Extensions watch each operation (tracing, metrics): every execution goes through Strawberry's hooks.
        self.observed = observed

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Errors are classified and logged with the request id by `schema.execution`; here, only the schema
        hints are removed when introspection is off (strawberry passes every error through this hook, those of
        validation and of variable coercion included)."""
        if self.hide_suggestions:
            for error in errors:
                error.message = _SUGGESTION.sub("", error.message)


def document_rules(limits: Limits) -> DocumentRules:
    """The limits as validation rules, built once: the limiters' rule classes are made per instance."""
    rules = [
        *QueryDepthLimiter(max_depth=limits.max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules,
    ]
    if not limits.introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    return DocumentRules(max_tokens=limits.max_tokens, rules=tuple(rules))


def build_schema(limits: Limits = Limits(), observers: Sequence[Callable[[], Any]] = ()) -> RoundpoolSchema:
    """`observers`: extension factories that watch each operation (metrics, tracing); they run first."""
    # Shared on purpose: keyed by document text under rules fixed for this schema, it holds no tenant data.
    cache, rules = DocumentCache(limits.document_cache_size), document_rules(limits)
    extensions: list[Any] = [*observers, partial(CachedDocuments, cache, rules)]
    query = merge_types("Query", QUERIES)
    mutation = merge_types("Mutation", MUTATIONS)
    return RoundpoolSchema(
        query=query,
        mutation=mutation,
        subscription=Subscription,
        extensions=extensions,
        hide_suggestions=not limits.introspection,
        documents=cache,
        document_rules=rules,
        observed=bool(observers),
        execution_context_class=RoundpoolExecutor,
        config=StrawberryConfig(scalar_map={Decimal: DECIMAL, Count: COUNT}),
    )
