"""What sign-up answers: the new tenant, or for an operator's customer the tenant and its owner's invitation."""

from __future__ import annotations

import strawberry

from resolvers.tenancy.onboarding import CreatedCustomer
from schema.types.invitations import Invitation
from schema.types.tenancy import Tenant


@strawberry.type(description="A customer the acting operator bills, and the invitation of its first owner.")
class CustomerCreated:
    customer: Tenant
    invitation: Invitation

    @classmethod
    def from_result(cls, result: CreatedCustomer) -> CustomerCreated:
        return cls(customer=Tenant.from_record(result.customer), invitation=Invitation.from_record(result.invitation))
