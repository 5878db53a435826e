"""The cursor codec of every connection, in one place so that no two connections share a name."""

from __future__ import annotations

from resolvers.common.pages import DATE, DATETIME, INT, TEXT, UUID_KEY, Cursor

TENANTS = Cursor("tenants", (TEXT,))
MEMBERS = Cursor("members", (UUID_KEY,))
COMPANIES = Cursor("companies", (UUID_KEY,))
PORTFOLIO_GRANTS = Cursor("portfolioGrants", (DATETIME, UUID_KEY))
AUDIT_EVENTS = Cursor("auditEvents", (INT,))
INVITATIONS = Cursor("invitations", (DATETIME, UUID_KEY))
TENANT_INVITATIONS = Cursor("tenantInvitations", (DATETIME, UUID_KEY))
CAP_TABLE_LEDGER = Cursor("capTableLedger", (INT,))
FUNDS = Cursor("funds", (TEXT, UUID_KEY))
FINANCIAL_REPORTS = Cursor("financialReports", (DATE, UUID_KEY))
KPI_REQUESTS = Cursor("kpiRequests", (DATETIME, UUID_KEY))
CLOUD_ACCOUNTS = Cursor("cloudAccounts", (TEXT, UUID_KEY))
COST_IMPORTS = Cursor("costImports", (DATETIME, UUID_KEY))
INVOICES = Cursor("invoices", (DATETIME, UUID_KEY))
PRICING_PLANS = Cursor("pricingPlans", (TEXT, UUID_KEY))
COST_ASSEMBLIES = Cursor("costAssemblies", (DATETIME, UUID_KEY))

ALL: tuple[Cursor, ...] = (
    TENANTS,
    MEMBERS,
    COMPANIES,
    PORTFOLIO_GRANTS,
    AUDIT_EVENTS,
    INVITATIONS,
    TENANT_INVITATIONS,
    CAP_TABLE_LEDGER,
    FUNDS,
    FINANCIAL_REPORTS,
    KPI_REQUESTS,
    CLOUD_ACCOUNTS,
    COST_IMPORTS,
    INVOICES,
    PRICING_PLANS,
    COST_ASSEMBLIES,
)
assert len({c.connection for c in ALL}) == len(ALL), "two connections share a cursor name"
