"""The demo's tenants and people, made the way real ones are: each user signs in once (just-in-time, as a token
would), the operator comes from `create_operator` (the owner role, as `roundpool tenants create-operator`), its
billing admin creates the startups as customers, founders create the VCs, everyone else joins by accepting an
invitation, and grants are requested and approved. Nothing here writes a row the API could not."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

import psycopg
import strawberry

from cli.runtime import CliError
from db.demo import INVITATIONS, OPERATOR, STARTUPS, USERS, VCS
from db.location import DatabaseLocation
from db.operators import create_operator
from db.session import Database
from policies.tokens import Claims
from resolvers.common.principals import Member
from schema.authentication import provision_user
from schema.execution import GraphQLRequest, execute
from schema.settings import Settings

CUSTOMER = """
mutation($slug: String!, $name: String!, $email: String!) {
  createCustomer(slug: $slug, name: $name, ownerEmail: $email) {
    __typename ... on Problem { message } ... on CustomerCreated { invitation { id } }
  }
}"""
VC = """
mutation($slug: String!, $name: String!) {
  createVentureFirm(slug: $slug, name: $name) { __typename ... on Problem { message } }
}"""
INVITE = """
mutation($email: String!, $role: Role!) {
  inviteMember(email: $email, role: $role) { __typename ... on Problem { message } ... on Invitation { id } }
}"""
ACCEPT = "mutation($id: ID!) { acceptInvitation(id: $id) { __typename ... on Problem { message } } }"
PROFILE = """
mutation($input: CompanyProfileInput!) { updateCompanyProfile(input: $input) { __typename ... on Problem { message } } }
"""
REQUEST = """
mutation($slug: String!, $scopes: [GrantScope!]!) {
  requestPortfolioAccess(startupSlug: $slug, scopes: $scopes) {
    __typename ... on Problem { message } ... on PortfolioGrant { id }
  }
}"""
APPROVE = """
mutation($id: ID!, $scopes: [GrantScope!]!) {
  approvePortfolioAccess(id: $id, scopes: $scopes) { __typename ... on Problem { message } }
}"""


def demo_subject(email: str) -> str:
    """The `sub` a demo user's development token carries."""
    return f"demo|{email}"


def demo_missing(location: DatabaseLocation) -> bool:
    """Whether the demo's tenants are still to be created (an owner look-up)."""
    with psycopg.connect(location.owner_url) as conn:
        return conn.execute("select 1 from tenants where slug = %s", (OPERATOR[0],)).fetchone() is None


class _Session:
    """Runs documents as demo users through the same principal resolution and execution as HTTP."""

    def __init__(self, settings: Settings, database: Database) -> None:
        from schema.app import schema_for

        self._settings = settings
        self._database = database
        self._schema: strawberry.Schema = schema_for(settings)
        self.ids: dict[str, UUID] = {}

    async def sign_in(self, email: str, name: str) -> None:
        claims = Claims(issuer="", subject=demo_subject(email), email=email, name=name, tenant=None)
        self.ids[email] = await provision_user(self._database, claims)

    async def run(self, email: str, tenant: str | None, document: str, variables: dict[str, Any]) -> dict[str, Any]:
        body = await execute(
            self._schema,
            self._database,
            Member(self.ids[email], tenant),
            GraphQLRequest(document, variables),
            request_id=uuid.uuid4().hex,
            max_page_size=self._settings.max_page_size,
        )
        result = next(iter((body.get("data") or {}).values()), None)
        if body.get("errors") or not isinstance(result, dict) or "message" in result:
            raise CliError(
                f"the demo's {document.split('(')[0].split()[-1]} as {email} was refused: "
                f"{body.get('errors') or result}"
            )
        return result

    async def invite_and_accept(self, inviter: str, tenant: str, email: str, role: str) -> None:
        invitation = await self.run(inviter, tenant, INVITE, {"email": email, "role": role.upper()})
        await self.run(email, None, ACCEPT, {"id": invitation["id"]})


async def _onboard(session: _Session, location: DatabaseLocation) -> None:
    for email, name, _, _ in USERS:
        await session.sign_in(email, name)
    owners = {tenant: email for email, _, tenant, role in USERS if role == "owner"}
    operator_slug, operator_name, _ = OPERATOR
    create_operator(location.owner_url, operator_slug, operator_name, owners[operator_slug])
    billing = next(email for email, _, tenant, role in USERS if role == "billing_admin")
    await session.invite_and_accept(owners[operator_slug], operator_slug, billing, "billing_admin")
    for slug, name, legal, country, sector, stage in STARTUPS:
        made = await session.run(billing, operator_slug, CUSTOMER, {"slug": slug, "name": name, "email": owners[slug]})
        await session.run(owners[slug], None, ACCEPT, {"id": made["invitation"]["id"]})
        profile = {
            "legalName": legal,
            "country": country,
            "sector": sector,
            "stage": stage,
            "foundedOn": "2021-04-01",
            "website": f"https://{slug}.example",
        }
        await session.run(owners[slug], slug, PROFILE, {"input": profile})
    for slug, name in VCS:
        await session.run(owners[slug], None, VC, {"slug": slug, "name": name})
    for email, _, tenant, role in USERS:
        if role not in ("owner", "billing_admin"):
            await session.invite_and_accept(owners[tenant], tenant, email, role)
    scopes = ["COMPANY", "CAPTABLE", "FINANCIALS"]
    grant = await session.run(owners["sakura-vc"], "sakura-vc", REQUEST, {"slug": "kitsune", "scopes": scopes})
    await session.run(owners["kitsune"], "kitsune", APPROVE, {"id": grant["id"], "scopes": scopes})
    await session.run(
        owners["harbor-capital"], "harbor-capital", REQUEST, {"slug": "bluefinch", "scopes": ["COMPANY", "CAPTABLE"]}
    )
    for tenant, inviter, email, role in INVITATIONS:
        await session.run(inviter, tenant, INVITE, {"email": email, "role": role.upper()})


async def create_demo_tenants(settings: Settings, location: DatabaseLocation) -> None:
    """Create the demo's users and tenants through the API paths (only when `demo_missing`)."""
    database = Database(location.app_url, pool_size=1, statement_timeout_ms=settings.statement_timeout_ms)
    try:
        await _onboard(_Session(settings, database), location)
    finally:
        await database.dispose()
