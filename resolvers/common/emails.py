"""The one form of an e-mail address the users and invitations tables hold."""

from __future__ import annotations

import re

from resolvers.common.errors import InvalidInput

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MAX_EMAIL = 320


def normalised_email(email: str) -> str:
    address = email.strip().lower()
    if len(address) > _MAX_EMAIL or not _EMAIL.match(address):
        raise InvalidInput("not an e-mail address", field="email")
    return address
