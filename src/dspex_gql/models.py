"""Every table, imported in one place so that `Base.metadata` is complete (alembic, tests)."""

from dspex_gql.accounts.models import ApiKey, Organization, User
from dspex_gql.audit.models import AuditLog
from dspex_gql.db.base import Base
from dspex_gql.executions.models import Execution
from dspex_gql.programs.models import Program
from dspex_gql.signatures.models import Signature

__all__ = [
    "ApiKey",
    "AuditLog",
    "Base",
    "Execution",
    "Organization",
    "Program",
    "Signature",
    "User",
]
