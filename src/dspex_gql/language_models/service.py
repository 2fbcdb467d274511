"""Language model use cases: create, change, delete and test one; its API key is stored
encrypted and never leaves the service except, decrypted, in a spec for a call."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from dspex_gql import policies
from dspex_gql.audit import recorder as audit
from dspex_gql.db.uow import UnitOfWorkFactory
from dspex_gql.engine.language_models import LanguageModelProbe, LanguageModelSpec, ModelCheck
from dspex_gql.errors import Conflict, FieldProblem, ValidationFailed
from dspex_gql.identity import Actor
from dspex_gql.language_models import checks
from dspex_gql.language_models.models import LanguageModel
from dspex_gql.language_models.repository import (
    LanguageModelRepository,
    ProgramUsing,
    name_taken,
)
from dspex_gql.language_models.stored import spec_of
from dspex_gql.policies import Visibility
from dspex_gql.resource import ResourceService
from dspex_gql.secrets_box import SecretBox, SecretsUnavailable
from dspex_gql.unset import UNSET, Maybe

DEFAULT_MAX_CONCURRENCY = 8
PROBE_TIMEOUT_SECONDS = 30.0
PROGRAMS_NAMED = 5
"""A conflict names at most this many of the programs that use a model."""


@dataclass(frozen=True)
class NewLanguageModel:
    name: str
    model: str
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    defaults: Any = field(default_factory=dict)
    prompt_price_per_million: float | None = None
    completion_price_per_million: float | None = None
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    requests_per_minute: int | None = None
    visibility: Visibility = Visibility.PRIVATE


@dataclass(frozen=True)
class LanguageModelChanges:
    """`api_key`: UNSET keeps the key, None removes it, a string replaces it."""

    name: Maybe[str] = UNSET
    model: Maybe[str] = UNSET
    base_url: Maybe[str | None] = UNSET
    api_key: Maybe[str | None] = field(default=UNSET, repr=False)
    defaults: Maybe[Any] = UNSET
    prompt_price_per_million: Maybe[float | None] = UNSET
    completion_price_per_million: Maybe[float | None] = UNSET
    max_concurrency: Maybe[int] = UNSET
    requests_per_minute: Maybe[int | None] = UNSET
    visibility: Maybe[Visibility] = UNSET

    def given(self) -> dict[str, Any]:
        return {name: value for name, value in vars(self).items() if value is not UNSET}


class LanguageModelService(ResourceService[LanguageModel, LanguageModelRepository]):
    repository = LanguageModelRepository

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        actor: Actor,
        secrets: SecretBox,
        probe: LanguageModelProbe,
    ) -> None:
        super().__init__(uow, actor)
        self._secrets = secrets
        self._probe = probe

    async def create(self, new: NewLanguageModel) -> LanguageModel:
        policies.ensure_can_create(self._actor, "language models")
        given = dict(vars(new))
        problems = checks.problems(given)
        ciphertext = self._encrypted(new.api_key, problems)
        _raise_if(problems)
        async with self._uow() as tx:
            repo = self._repo(tx)
            model = LanguageModel(api_key_ciphertext=ciphertext)
            _apply(model, {name: value for name, value in given.items() if name != "api_key"})
            if await repo.name_taken(model.name):
                raise name_taken(model.name)
            repo.add(model, created_by=self._actor.user_id)
            await repo.save_unique(model)
            audited = _audited(given)
            audit.record(
                tx, self._actor, "languageModel.create", "LanguageModel", model.id, audited
            )
            return model

    async def update(self, id: UUID, changes: LanguageModelChanges) -> LanguageModel:
        given = changes.given()
        problems = checks.problems(given)
        if isinstance(changes.api_key, str):
            given["api_key_ciphertext"] = self._encrypted(changes.api_key, problems)
        elif changes.api_key is None:
            given["api_key_ciphertext"] = None
        async with self._uow() as tx:
            repo = self._repo(tx)
            model = await repo.require(id)
            policies.ensure_can_change(self._actor, model, "language model")
            _raise_if(problems)
            if changes.name is not UNSET:
                await _ensure_renamable(repo, model, changes.name.strip())
            _apply(model, {name: value for name, value in given.items() if name != "api_key"})
            await repo.save_unique(model)
            audited = _audited(changes.given())
            audit.record(tx, self._actor, "languageModel.update", "LanguageModel", id, audited)
            return model

    async def delete(self, id: UUID) -> LanguageModel:
        async with self._uow() as tx:
            repo = self._repo(tx)
            model = await repo.require(id)
            policies.ensure_can_change(self._actor, model, "language model")
            if using := await repo.programs_using(model.name):
                raise Conflict(
                    f"Language model {model.name!r} is used by {_programs(using)}: point their "
                    'configuration\'s "lm" at another model first'
                )
            await repo.delete(model)
            changes = {"name": model.name}
            audit.record(tx, self._actor, "languageModel.delete", "LanguageModel", id, changes)
            return model

    async def test(self, id: UUID) -> ModelCheck:
        """One tiny call to the model, bounded in time; the audit log keeps whether it worked."""
        model = await self.get(id)
        policies.ensure_can_run(self._actor, "test language models")
        check = await self._probe_within_time(spec_of(model, self._secrets))
        async with self._uow() as tx:
            changes = {"ok": check.ok}
            audit.record(tx, self._actor, "languageModel.test", "LanguageModel", id, changes)
        return check

    async def _probe_within_time(self, spec: LanguageModelSpec) -> ModelCheck:
        deadline = asyncio.timeout(PROBE_TIMEOUT_SECONDS)
        try:
            async with deadline:
                return await self._probe(spec)
        except TimeoutError:
            if not deadline.expired():
                raise
            error = f"no answer within {PROBE_TIMEOUT_SECONDS:g} s"
            return ModelCheck(ok=False, latency_ms=PROBE_TIMEOUT_SECONDS * 1000, error=error)

    def _encrypted(self, api_key: str | None, problems: list[FieldProblem]) -> str | None:
        """The key as stored; None, with a problem added, when it cannot be stored."""
        if api_key is None or any(problem.field == "apiKey" for problem in problems):
            return None
        try:
            return self._secrets.encrypt(api_key)
        except SecretsUnavailable as missing:
            problems.append(FieldProblem("apiKey", f"cannot be stored: {missing}", "unavailable"))
            return None


async def _ensure_renamable(repo: LanguageModelRepository, model: LanguageModel, name: str) -> None:
    if name == model.name:
        return
    if await repo.name_taken(name):
        raise name_taken(name)
    if using := await repo.programs_using(model.name):
        raise Conflict(
            f"Language model {model.name!r} cannot be renamed: {_programs(using)} name it in "
            'their configuration ("lm") and would break'
        )


def _programs(using: Sequence[ProgramUsing]) -> str:
    """`3 programs ('qa', 'summary', 1 other)`: only names the actor may read."""
    names = [repr(program.name) for program in using if program.readable][:PROGRAMS_NAMED]
    others = len(using) - len(names)
    if others:
        names.append(f"{others} other" + ("s" if others > 1 else ""))
    noun = "program" if len(using) == 1 else "programs"
    return f"{len(using)} {noun} ({', '.join(names)})"


def _apply(model: LanguageModel, values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        setattr(model, name, value.strip() if name == "name" else value)


def _audited(given: Mapping[str, Any]) -> dict[str, Any]:
    """The given fields as the audit log keeps them: `apiKey` is `[redacted]` when one was sent,
    null when it was removed (or none given), never the key."""
    if given.get("api_key") is None:
        return dict(given)
    return {**given, "api_key": "(changed)"}


def _raise_if(problems: list[FieldProblem]) -> None:
    if problems:
        raise ValidationFailed(problems)
