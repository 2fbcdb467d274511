"""What lives for the whole process, built once by `create_app` and shared by every request."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncEngine

from dspex_gql.accounts.authentication import Authenticator
from dspex_gql.accounts.passwords import Passwords
from dspex_gql.accounts.service import AccountService
from dspex_gql.accounts.sessions import SessionService
from dspex_gql.accounts.tokens import Tokens
from dspex_gql.audit.service import AuditService
from dspex_gql.config import Settings
from dspex_gql.dags.runs_service import DagRunService
from dspex_gql.dags.service import DagService
from dspex_gql.db.uow import UnitOfWorkFactory
from dspex_gql.engine.adapters.base import ProgramType
from dspex_gql.engine.adapters.registry import AdapterRegistry
from dspex_gql.engine.custom import CustomProgramRegistry
from dspex_gql.engine.invoke import ProgramInvoker
from dspex_gql.engine.language_models import LanguageModelProbe
from dspex_gql.engine.optimization import MetricRegistry
from dspex_gql.executions.service import ExecutionService
from dspex_gql.identity import Actor
from dspex_gql.language_models.service import LanguageModelService
from dspex_gql.observability import Telemetry
from dspex_gql.optimization_runs.service import EvaluationService, OptimizationService
from dspex_gql.orchestrator.checkpoints import WalCheckpoints
from dspex_gql.orchestrator.reclaim import RunReclamation
from dspex_gql.programs.service import ProgramService
from dspex_gql.pubsub import Hub
from dspex_gql.ratelimit import Limiter
from dspex_gql.runs import Runs
from dspex_gql.secrets_box import SecretBox
from dspex_gql.signatures.service import SignatureService
from dspex_gql.variable_spaces.service import VariableSpaceService


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: AsyncEngine
    uow: UnitOfWorkFactory
    hub: Hub
    runs: Runs
    reclamation: RunReclamation
    adapters: AdapterRegistry
    custom_programs: CustomProgramRegistry
    invoker: ProgramInvoker
    metrics: MetricRegistry
    passwords: Passwords
    tokens: Tokens
    authenticator: Authenticator
    sessions: SessionService
    requests: Limiter
    """Per-actor request budget (token bucket)."""
    secrets: SecretBox
    """Encrypts and decrypts the secrets stored in the database (language models' API keys)."""
    probe_language_model: LanguageModelProbe
    """Answers `testLanguageModel` with one tiny call to the model."""
    telemetry: Telemetry
    """The process's metrics (and traces, when an exporter is configured)."""
    checkpoints: WalCheckpoints | None
    """SQLite's WAL checkpoints, in the background (nothing on PostgreSQL)."""


class Services:
    """The use cases of one actor; cheap to build per request, holds no session."""

    def __init__(self, runtime: Runtime, actor: Actor) -> None:
        self.runtime = runtime
        self.actor = actor

    @cached_property
    def accounts(self) -> AccountService:
        runtime = self.runtime
        return AccountService(
            runtime.uow,
            self.actor,
            runtime.passwords,
            runtime.tokens,
            runtime.sessions,
            runtime.hub,
            runtime.authenticator.keys,
        )

    @cached_property
    def audit(self) -> AuditService:
        return AuditService(self.runtime.uow, self.actor)

    @cached_property
    def signatures(self) -> SignatureService:
        return SignatureService(self.runtime.uow, self.actor)

    @cached_property
    def programs(self) -> ProgramService:
        runtime = self.runtime
        return ProgramService(
            runtime.uow,
            self.actor,
            runtime.runs,
            runtime.adapters,
            runtime.custom_programs,
        )

    @cached_property
    def variable_spaces(self) -> VariableSpaceService:
        runtime = self.runtime
        modules = [*ProgramType.__members__, *runtime.custom_programs.names()]
        return VariableSpaceService(runtime.uow, self.actor, modules)

    @cached_property
    def language_models(self) -> LanguageModelService:
        runtime = self.runtime
        return LanguageModelService(
            runtime.uow, self.actor, runtime.secrets, runtime.probe_language_model
        )

    @cached_property
    def optimizations(self) -> OptimizationService:
        runtime = self.runtime
        return OptimizationService(
            runtime.uow,
            self.actor,
            runtime.runs,
            runtime.invoker,
            runtime.hub,
            runtime.metrics,
            runtime.settings.optimization,
            runtime.secrets,
        )

    @cached_property
    def evaluations(self) -> EvaluationService:
        return EvaluationService(self.runtime.uow, self.actor)

    @cached_property
    def dags(self) -> DagService:
        return DagService(self.runtime.uow, self.actor, self.runtime.settings.dag)

    @cached_property
    def executions(self) -> ExecutionService:
        runtime = self.runtime
        return ExecutionService(
            runtime.uow,
            self.actor,
            runtime.runs,
            runtime.invoker,
            runtime.hub,
            runtime.settings.execution,
            runtime.secrets,
        )

    @cached_property
    def dag_runs(self) -> DagRunService:
        runtime = self.runtime
        return DagRunService(
            runtime.uow,
            self.actor,
            runtime.runs,
            runtime.invoker,
            runtime.hub,
            runtime.settings.dag,
            runtime.secrets,
        )
