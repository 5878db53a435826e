"""What every resolver receives: the principal, the request's transaction, its loaders and limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cost.locations import CostSources
from cost.store import CostStore
from db.session import RequestTransaction
from policies.principal import ActingTenant, Principal, Role, TenantKind
from resolvers.common.budget import RowBudget
from resolvers.common.errors import Forbidden, InvalidInput, Unauthenticated
from resolvers.common.limits import RequestLimits
from resolvers.common.loaders import Loaders

if TYPE_CHECKING:
    from resolvers.common.request import RequestRuntime


@dataclass(frozen=True, eq=False)
class RequestContext:
    """Immutable: built once by `open_request` (resolvers/common/request.py). What changes during a request
    (the loaders' caches, the row budget) lives in objects created with the context."""

    request_id: str
    runtime: RequestRuntime
    principal: Principal | None = None
    transaction: RequestTransaction | None = None
    loaders: Loaders = field(init=False, repr=False)
    row_budget: RowBudget = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "loaders", Loaders(self.transaction))
        object.__setattr__(self, "row_budget", RowBudget(self.runtime.limits.max_response_rows))

    @property
    def max_page_size(self) -> int:
        return self.runtime.max_page_size

    @property
    def cost_store(self) -> CostStore | None:
        return self.runtime.cost_store

    @property
    def cost_sources(self) -> CostSources:
        """Where imports may read (configuration); the default refuses every location."""
        return self.runtime.cost_sources

    @property
    def limits(self) -> RequestLimits:
        return self.runtime.limits

    @property
    def invoice_font(self) -> Path | None:
        return self.runtime.invoice_font

    @property
    def tx(self) -> RequestTransaction:
        if self.transaction is None:
            raise Unauthenticated("authentication required")
        return self.transaction

    def require_principal(self) -> Principal:
        if self.principal is None:
            raise Unauthenticated("authentication required")
        return self.principal

    def require_tenant(self, *kinds: TenantKind) -> ActingTenant:
        tenant = self.require_principal().tenant
        if tenant is None:
            raise InvalidInput("choose the tenant you act for (token claim 'tenant' or header X-Tenant)")
        if kinds and tenant.kind not in kinds:
            allowed = " or ".join(k.value for k in kinds)
            raise Forbidden(f"this operation is for {allowed} tenants; {tenant.slug} is a {tenant.kind.value}")
        return tenant

    def require_role(self, roles: frozenset[Role], *kinds: TenantKind) -> ActingTenant:
        tenant = self.require_tenant(*kinds)
        if tenant.role not in roles:
            needed = ", ".join(sorted(r.value for r in roles))
            raise Forbidden(f"requires role {needed} in {tenant.slug}; you are {tenant.role.value}")
        return tenant
