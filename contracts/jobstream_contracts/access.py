"""Who may do what: roles, the calling principal, and the pure access decisions.

Roles are cumulative along one line (reader < submitter < operator < admin) with the auditor
beside it: an auditor reads everything and changes nothing. Admin includes operator: whoever
manages keys could give themselves an operator key anyway.

A job belongs to the principal that submitted it. Whoever may not read a job is told it does
not exist (404, never 403), so job ids cannot be probed; a role too low for an act is 403.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Role(StrEnum):
    READER = "reader"
    SUBMITTER = "submitter"
    OPERATOR = "operator"
    AUDITOR = "auditor"
    ADMIN = "admin"


# What each role may also do as another role.
_INCLUDES: dict[Role, frozenset[Role]] = {
    Role.READER: frozenset({Role.READER}),
    Role.SUBMITTER: frozenset({Role.READER, Role.SUBMITTER}),
    Role.OPERATOR: frozenset({Role.READER, Role.SUBMITTER, Role.OPERATOR}),
    Role.AUDITOR: frozenset({Role.READER, Role.AUDITOR}),
    Role.ADMIN: frozenset(Role),
}


@dataclass(frozen=True)
class Principal:
    """Who is calling: an id recorded as a job's owner (never a token), and their roles."""

    id: str
    roles: frozenset[Role]

    def has(self, role: Role) -> bool:
        return any(role in _INCLUDES[own] for own in self.roles)

    @property
    def reads_everything(self) -> bool:
        return self.has(Role.OPERATOR) or self.has(Role.AUDITOR)

    def may_read(self, owner: str | None) -> bool:
        """Whether this principal may see a job owned by ``owner`` (None: no owner recorded)."""
        if self.reads_everything:
            return True
        return self.has(Role.READER) and owner is not None and owner == self.id

    def may_change(self, owner: str | None) -> bool:
        """Whether this principal may dismiss a job owned by ``owner``."""
        if self.has(Role.OPERATOR):
            return True
        return self.has(Role.SUBMITTER) and owner is not None and owner == self.id


# With authentication off, every caller is this one: the service trusts its network.
ANONYMOUS = Principal(id="anonymous", roles=frozenset({Role.ADMIN}))


class ApiKey(BaseModel):
    """An API key as the key bucket stores it (keyed by name): its hash, never the key.

    Keys are 256 random bits, so one SHA-256 is as strong as a slow password hash and costs
    microseconds per request.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    role: Role
    digest: str
    created: datetime


API_KEY_PREFIX = "jsk_"


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def digest_of(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
