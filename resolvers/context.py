"""What every resolver receives: the principal, the request's transaction, its loaders and limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cost.locations import CostSources
from cost.store import CostStore
from db.session import RequestTransaction
from policies.principal import ActingTenant, Principal, Role, TenantKind
from resolvers.budget import RowBudget
from resolvers.errors import Forbidden, InvalidInput, Unauthenticated
from resolvers.limits import RequestLimits
from resolvers.loaders import Loaders


@dataclass
class RequestContext:
    request_id: str
    max_page_size: int
    principal: Principal | None = None
    transaction: RequestTransaction | None = None
    cost_store: CostStore | None = None
    # Where imports may read (configuration); the default refuses every location.
    cost_sources: CostSources = field(default_factory=CostSources)
    limits: RequestLimits = field(default_factory=RequestLimits)
    invoice_font: Path | None = None  # ROUNDPOOL_INVOICE_FONT; None: the system fonts
    loaders: Loaders = field(init=False)
    row_budget: RowBudget = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self)
        self.row_budget = RowBudget(self.limits.max_response_rows)

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
