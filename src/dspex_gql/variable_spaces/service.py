"""Variable space use cases: create, change, add and remove variables, sample, validate."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from dspex_gql import policies, validation
from dspex_gql.audit import recorder as audit
from dspex_gql.db.uow import UnitOfWork, UnitOfWorkFactory
from dspex_gql.engine.variables import (
    SamplingStrategy,
    SearchSpace,
    SpaceInvalid,
    build_space,
    generate,
    validate_configuration,
)
from dspex_gql.errors import Conflict, FieldProblem, ValidationFailed
from dspex_gql.identity import Actor
from dspex_gql.policies import Visibility
from dspex_gql.resource import ResourceService
from dspex_gql.unset import UNSET, Maybe
from dspex_gql.variable_spaces.models import VariableSpace
from dspex_gql.variable_spaces.repository import VariableSpaceRepository
from dspex_gql.variable_spaces.stored import stored_space

MAX_GENERATED = 1_000
MAX_SPACE_BYTES = 262_144


@dataclass(frozen=True)
class NewVariableSpace:
    name: str
    variables: Sequence[Any]
    description: str | None = None
    dependencies: Sequence[Any] = ()
    constraints: Any = field(default_factory=dict)
    visibility: Visibility = Visibility.PRIVATE


@dataclass(frozen=True)
class VariableSpaceChanges:
    name: Maybe[str] = UNSET
    description: Maybe[str | None] = UNSET
    variables: Maybe[Sequence[Any]] = UNSET
    dependencies: Maybe[Sequence[Any]] = UNSET
    constraints: Maybe[Any] = UNSET
    visibility: Maybe[Visibility] = UNSET


class VariableSpaceService(ResourceService[VariableSpace, VariableSpaceRepository]):
    repository = VariableSpaceRepository

    def __init__(self, uow: UnitOfWorkFactory, actor: Actor, known_modules: Collection[str]):
        super().__init__(uow, actor)
        self._known_modules = known_modules

    def engine_space(self, space: VariableSpace) -> SearchSpace:
        return engine_space(space)

    async def program_counts(self, ids: Iterable[UUID]) -> dict[UUID, int]:
        async with self._uow.read() as tx:
            return await self._repo(tx).program_counts(ids)

    async def create(self, new: NewVariableSpace) -> VariableSpace:
        policies.ensure_can_create(self._actor, "variable spaces")
        problems = _text_problems(new.name, new.description, required=True)
        problems += _constraint_problems(new.constraints)
        variables, dependencies = self._checked(new.variables, new.dependencies, problems)
        async with self._uow() as tx:
            space = VariableSpace(
                name=new.name.strip(),
                description=new.description,
                variables=variables,
                dependencies=dependencies,
                constraints=new.constraints,
                visibility=new.visibility,
            )
            self._repo(tx).add(space, created_by=self._actor.user_id)
            await tx.session.flush()
            changes = {"name": space.name, "variables": [v["name"] for v in variables]}
            audit.record(
                tx, self._actor, "variableSpace.create", "VariableSpace", space.id, changes
            )
            return space

    async def update(self, id: UUID, changes: VariableSpaceChanges) -> VariableSpace:
        problems = _change_problems(changes)
        async with self._uow() as tx:
            space = await self._changeable(tx, id)
            variables, dependencies = self._checked(
                _pick(changes.variables, space.variables),
                _pick(changes.dependencies, space.dependencies),
                problems,
            )
            _apply(space, changes)
            space.variables, space.dependencies = variables, dependencies
            given = {k: v for k, v in vars(changes).items() if v is not UNSET}
            audit.record(tx, self._actor, "variableSpace.update", "VariableSpace", id, given)
            return space

    async def add_variable(self, id: UUID, variable: Any) -> VariableSpace:
        async with self._uow() as tx:
            space = await self._changeable(tx, id)
            variables = [*space.variables, variable]
            try:
                checked = self._checked(variables, space.dependencies, [])
            except ValidationFailed as invalid:
                raise _as_argument(invalid, f"variables[{len(space.variables)}]") from None
            space.variables, space.dependencies = checked
            changes = {"variable": variable.get("name") if isinstance(variable, dict) else None}
            audit.record(tx, self._actor, "variableSpace.addVariable", "VariableSpace", id, changes)
            return space

    async def remove_variable(self, id: UUID, name: str) -> VariableSpace:
        """Dependencies on or of the variable go with it: its dependents become unconditional."""
        async with self._uow() as tx:
            space = await self._changeable(tx, id)
            if name not in {v.get("name") for v in space.variables}:
                raise ValidationFailed.single(
                    "name", f"the space has no variable {name!r}", "unknown"
                )
            variables = [v for v in space.variables if v.get("name") != name]
            dependencies = [
                d for d in space.dependencies if name not in (d.get("variable"), d.get("dependsOn"))
            ]
            if not variables:
                raise ValidationFailed.single(
                    "name", "a space keeps at least one variable", "required"
                )
            space.variables, space.dependencies = self._checked(variables, dependencies, [])
            changes = {"variable": name}
            audit.record(
                tx, self._actor, "variableSpace.removeVariable", "VariableSpace", id, changes
            )
            return space

    async def delete(self, id: UUID) -> VariableSpace:
        async with self._uow() as tx:
            repo = self._repo(tx)
            space = await repo.require(id)
            policies.ensure_can_change(self._actor, space, "variable space")
            if await repo.in_use(id):
                raise Conflict(
                    "The variable space is used by programs (archived ones included) or by "
                    "optimization runs"
                )
            await repo.delete(space)
            changes = {"name": space.name}
            audit.record(tx, self._actor, "variableSpace.delete", "VariableSpace", id, changes)
            return space

    async def generate(
        self, id: UUID, strategy: SamplingStrategy, count: int, seed: int | None
    ) -> list[dict[str, Any]]:
        problems = validation.seed("seed", seed)
        if not 1 <= count <= MAX_GENERATED:
            message = f"must be between 1 and {MAX_GENERATED}"
            problems.append(FieldProblem("count", message, "out_of_range"))
        if problems:
            raise ValidationFailed(problems)
        space = self.engine_space(await self.get(id))
        return generate(space, strategy, count, seed)

    async def check_configuration(self, id: UUID, configuration: Any) -> list[FieldProblem]:
        return validate_configuration(self.engine_space(await self.get(id)), configuration)

    async def _changeable(self, tx: UnitOfWork, id: UUID) -> VariableSpace:
        space = await self._repo(tx).require(id)
        policies.ensure_can_change(self._actor, space, "variable space")
        return space

    def _checked(
        self, variables: Any, dependencies: Any, problems: list[FieldProblem]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The space in its stored form, or every problem with it (and with the rest) at once."""
        raw = {"variables": variables, "dependencies": dependencies}
        problems = problems + validation.json_size("variables", raw, max_bytes=MAX_SPACE_BYTES)
        try:
            space_of(variables, dependencies, self._known_modules)
        except SpaceInvalid as invalid:
            problems += invalid.problems
        if problems:
            raise ValidationFailed(problems)
        return list(variables), list(dependencies or [])


def engine_space(space: VariableSpace) -> SearchSpace:
    return stored_space(space.variables, space.dependencies)


def _as_argument(invalid: ValidationFailed, position: str) -> ValidationFailed:
    """Problems of an added variable, named after the `variable` argument it came in."""
    return ValidationFailed(
        FieldProblem(p.field.replace(position, "variable", 1), p.message, p.code)
        for p in invalid.problems
    )


def space_of(variables: Any, dependencies: Any, known_modules: Collection[str]) -> SearchSpace:
    return build_space(variables, dependencies or [], known_modules=known_modules)


def _text_problems(name: Any, description: Any, *, required: bool) -> list[FieldProblem]:
    return [
        *validation.text("name", name, max_length=200, required=required),
        *validation.text("description", description, max_length=10_000),
    ]


def _constraint_problems(constraints: Any) -> list[FieldProblem]:
    return validation.json_object("constraints", constraints, max_bytes=65_536)


def _change_problems(changes: VariableSpaceChanges) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    if changes.name is not UNSET:
        problems += validation.text("name", changes.name, max_length=200, required=True)
    if changes.description is not UNSET:
        problems += validation.text("description", changes.description, max_length=10_000)
    if changes.constraints is not UNSET and changes.constraints is not None:
        problems += _constraint_problems(changes.constraints)
    for name in ("variables", "visibility", "constraints"):
        if getattr(changes, name) is None:
            problems.append(FieldProblem(name, "must not be null", "required"))
    return problems


def _apply(space: VariableSpace, changes: VariableSpaceChanges) -> None:
    if changes.name is not UNSET:
        space.name = changes.name.strip()
    for name in ("description", "constraints", "visibility"):
        value = getattr(changes, name)
        if value is not UNSET:
            setattr(space, name, value)


def _pick(value: Maybe[Any], default: Any) -> Any:
    """A null was reported already (`_change_problems`): check the rest against the old value."""
    return default if value is UNSET or value is None else value
