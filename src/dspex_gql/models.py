"""Every table, imported in one place so that `Base.metadata` is complete (alembic, tests)."""

from dspex_gql.accounts.models import ApiKey, Organization, User
from dspex_gql.audit.models import AuditLog
from dspex_gql.dags.models import Dag, DagRun, DagVersion, NodeExecution
from dspex_gql.db.base import Base
from dspex_gql.executions.models import Execution, ProgramExecutionStats
from dspex_gql.language_models.models import LanguageModel
from dspex_gql.optimization_runs.models import Evaluation, OptimizationRun
from dspex_gql.orchestrator.processes import ServiceProcess
from dspex_gql.programs.models import Program
from dspex_gql.signatures.models import Signature
from dspex_gql.variable_spaces.models import VariableSpace

__all__ = [
    "ApiKey",
    "AuditLog",
    "Base",
    "Dag",
    "DagRun",
    "DagVersion",
    "Evaluation",
    "Execution",
    "LanguageModel",
    "NodeExecution",
    "OptimizationRun",
    "Organization",
    "Program",
    "ProgramExecutionStats",
    "ServiceProcess",
    "Signature",
    "User",
    "VariableSpace",
]
