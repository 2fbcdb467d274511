"""Account use cases of a signed-in actor: its organization, users, password and API keys."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from dspex_gql import policies, validation
from dspex_gql.accounts.events import CredentialsChanged
from dspex_gql.accounts.key_cache import KeyCache
from dspex_gql.accounts.keys import new_key, secret_hash
from dspex_gql.accounts.models import ApiKey, Organization, User
from dspex_gql.accounts.passwords import Passwords, password_problem
from dspex_gql.accounts.repository import (
    ApiKeyRepository,
    CredentialRepository,
    OrganizationRepository,
    UserRepository,
)
from dspex_gql.accounts.tokens import Tokens
from dspex_gql.audit import recorder as audit
from dspex_gql.db.base import utcnow
from dspex_gql.db.repository import flush_unique
from dspex_gql.db.uow import UnitOfWork, UnitOfWorkFactory
from dspex_gql.errors import Conflict, FieldProblem, ValidationFailed
from dspex_gql.identity import Actor, Origin, Role
from dspex_gql.pubsub import Hub, channels
from dspex_gql.resource import ResourceService
from dspex_gql.unset import UNSET, Maybe

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
EMAIL_TAKEN = "A user with this email already exists"


class AttemptLimits(Protocol):
    async def limit_attempt(self, email: str, origin: Origin) -> None: ...


@dataclass(frozen=True)
class NewUser:
    email: str
    name: str
    role: Role = Role.USER
    password: str | None = None


@dataclass(frozen=True)
class UserChanges:
    email: Maybe[str] = UNSET
    name: Maybe[str] = UNSET
    role: Maybe[Role] = UNSET


@dataclass(frozen=True)
class OrganizationChanges:
    name: Maybe[str] = UNSET
    settings: Maybe[Any] = UNSET


@dataclass(frozen=True)
class SignedIn:
    token: str
    expires_at: datetime
    user: User


class AccountService(ResourceService[User, UserRepository]):
    repository = UserRepository

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        actor: Actor,
        passwords: Passwords,
        tokens: Tokens,
        attempts: AttemptLimits,
        hub: Hub,
        keys: KeyCache,
    ) -> None:
        super().__init__(uow, actor)
        self._passwords = passwords
        self._tokens = tokens
        self._attempts = attempts
        self._hub = hub
        self._key_cache = keys

    def _credentials_changed(self, tx: UnitOfWork, user_id: UUID, reason: str) -> None:
        """Once committed, tell the user's open subscriptions and every replica's cache of API
        keys (this process's at once)."""
        event = CredentialsChanged(sequence=0, user_id=user_id, reason=reason)

        async def tell() -> None:
            self._key_cache.forget_user(user_id)
            await self._hub.publish_on(
                [channels.credentials(user_id), channels.all_credentials()], event
            )

        tx.after_commit(tell)

    def _keys(self, tx: UnitOfWork) -> ApiKeyRepository:
        return ApiKeyRepository(tx.session, self._actor.organization_id, self._actor)

    async def me(self) -> User:
        return await self.get(self._actor.user_id)

    async def organization(self) -> Organization:
        async with self._uow.read() as tx:
            organization = await OrganizationRepository(tx.session).get(self._actor.organization_id)
        assert organization is not None, "an actor's organization exists"
        return organization

    async def execution_count(self) -> int:
        async with self._uow.read() as tx:
            return await OrganizationRepository(tx.session).execution_count(
                self._actor.organization_id
            )

    async def ensure_admin(self, what: str) -> None:
        policies.ensure_admin(self._actor, what)

    async def create_user(self, new: NewUser) -> User:
        policies.ensure_admin(self._actor, "create users")
        email = normalized_email(new.email)
        _raise_if(user_problems(email, new.name, new.password))
        password_hash = None if new.password is None else await self._passwords.hash(new.password)
        async with self._uow() as tx:
            repo = self._repo(tx)
            await ensure_email_free(tx, email)
            user = User(
                email=email, name=new.name.strip(), role=new.role, password_hash=password_hash
            )
            repo.add(user, created_by=self._actor.user_id)
            await flush_unique(tx.session, Conflict(EMAIL_TAKEN))
            audit.record(tx, self._actor, "user.create", "User", user.id, _public(user))
            return user

    async def update_user(self, id: UUID, changes: UserChanges) -> User:
        async with self._uow() as tx:
            repo = self._repo(tx)
            user = await repo.require(id)
            self._ensure_can_change_user(user, changes)
            _raise_if(_change_problems(changes))
            if changes.email is not UNSET and normalized_email(changes.email) != user.email:
                await ensure_email_free(tx, normalized_email(changes.email))
                user.email = normalized_email(changes.email)
            if changes.role is not UNSET and changes.role != user.role:
                await _keep_an_admin(repo, user, changes.role)
                user.role = changes.role
                self._credentials_changed(tx, user.id, "The user's role changed")
            if changes.name is not UNSET:
                user.name = changes.name.strip()
            await flush_unique(tx.session, Conflict(EMAIL_TAKEN))
            audit.record(tx, self._actor, "user.update", "User", user.id, _given(changes))
            return user

    async def deactivate_user(self, id: UUID) -> User:
        policies.ensure_admin(self._actor, "deactivate users")
        async with self._uow() as tx:
            repo = self._repo(tx)
            user = await repo.require(id)
            if not user.active:
                raise Conflict("The user is already deactivated")
            await _keep_an_admin(repo, user, None)
            user.active, user.token_version = False, user.token_version + 1
            audit.record(tx, self._actor, "user.deactivate", "User", user.id, {"active": False})
            self._credentials_changed(tx, user.id, "The user was deactivated")
            return user

    async def change_password(self, current: str, new: str) -> SignedIn:
        """Set a new password; every earlier token stops working, a fresh one is returned."""
        problem = password_problem(new)
        if problem:
            raise ValidationFailed.single("newPassword", problem, "weak_password")
        user = await self.me()
        await self._attempts.limit_attempt(user.email, self._actor.origin)
        if not await self._passwords.verify(user.password_hash, current):
            raise ValidationFailed.single(
                "currentPassword", "The current password is wrong", "invalid"
            )
        new_hash = await self._passwords.hash(new)
        async with self._uow() as tx:
            user = await self._repo(tx).require(self._actor.user_id)
            user.password_hash, user.token_version = new_hash, user.token_version + 1
            audit.record(tx, self._actor, "user.changePassword", "User", user.id, {})
            self._credentials_changed(tx, user.id, "The password changed: sign in again")
        token, expires_at = self._tokens.issue(user.id, user.token_version)
        return SignedIn(token, expires_at, user)

    async def api_keys(self) -> list[ApiKey]:
        async with self._uow.read() as tx:
            return await self._keys(tx).of_user(self._actor.user_id)

    async def organization_api_keys(self) -> list[tuple[ApiKey, User]]:
        """Every key of the organization with its owner (admins only)."""
        policies.ensure_admin(self._actor, "list the organization's API keys")
        async with self._uow.read() as tx:
            return await self._keys(tx).with_owners()

    async def create_api_key(self, name: str, expires_at: datetime | None) -> tuple[ApiKey, str]:
        """A key for the actor itself; the secret is returned once and only its hash is kept."""
        problems = validation.text("name", name, max_length=200, required=True)
        if expires_at is not None and expires_at <= utcnow():
            problems.append(FieldProblem("expiresAt", "must be in the future", "invalid"))
        _raise_if(problems)
        parts = new_key()
        async with self._uow() as tx:
            key = ApiKey(
                user_id=self._actor.user_id,
                name=name.strip(),
                prefix=parts.prefix,
                secret_hash=secret_hash(parts.secret),
                expires_at=expires_at,
            )
            self._keys(tx).add(key, created_by=self._actor.user_id)
            await tx.session.flush()
            changes = {"name": key.name, "prefix": key.prefix, "expiresAt": expires_at}
            audit.record(tx, self._actor, "apiKey.create", "ApiKey", key.id, changes)
            return key, str(parts)

    async def revoke_api_key(self, id: UUID) -> ApiKey:
        async with self._uow() as tx:
            key = await self._keys(tx).require(id)
            if key.revoked_at is not None:
                raise Conflict("The API key is already revoked")
            key.revoked_at = utcnow()
            audit.record(tx, self._actor, "apiKey.revoke", "ApiKey", key.id, {"name": key.name})
            self._credentials_changed(tx, key.user_id, "The API key was revoked")
            return key

    async def update_organization(self, changes: OrganizationChanges) -> Organization:
        policies.ensure_admin(self._actor, "change the organization")
        problems: list[FieldProblem] = []
        if changes.name is not UNSET:
            problems += validation.text("name", changes.name, max_length=200, required=True)
        if changes.settings is not UNSET:
            problems += validation.json_object("settings", changes.settings, max_bytes=65_536)
        _raise_if(problems)
        async with self._uow() as tx:
            organization = await OrganizationRepository(tx.session).get(self._actor.organization_id)
            assert organization is not None, "an actor's organization exists"
            if changes.name is not UNSET:
                organization.name = changes.name.strip()
            if changes.settings is not UNSET:
                organization.settings = changes.settings
            audit.record(
                tx,
                self._actor,
                "organization.update",
                "Organization",
                organization.id,
                _given(changes),
            )
            return organization

    def _ensure_can_change_user(self, user: User, changes: UserChanges) -> None:
        if self._actor.is_admin:
            return
        if user.id != self._actor.user_id:
            policies.ensure_admin(self._actor, "change other users")
        if changes.role is not UNSET:
            policies.ensure_admin(self._actor, "change roles")


def normalized_email(email: str) -> str:
    return email.strip().lower()


def user_problems(email: str, name: str, password: str | None) -> list[FieldProblem]:
    problems = validation.text("name", name, max_length=200, required=True)
    if not EMAIL.match(email) or len(email) > 320:
        problems.append(FieldProblem("email", "must be an email address", "invalid"))
    if password is not None and (problem := password_problem(password)):
        problems.append(FieldProblem("password", problem, "weak_password"))
    return problems


def _change_problems(changes: UserChanges) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    if changes.name is not UNSET:
        problems += validation.text("name", changes.name, max_length=200, required=True)
    if changes.email is not UNSET and not EMAIL.match(normalized_email(changes.email or "")):
        problems.append(FieldProblem("email", "must be an email address", "invalid"))
    if changes.role is None:
        problems.append(FieldProblem("role", "must not be null", "required"))
    return problems


async def ensure_email_free(tx: UnitOfWork, email: str) -> None:
    """Emails are unique across the service: signing in takes only an email."""
    if await CredentialRepository(tx.session).user_by_email(email) is not None:
        raise Conflict(EMAIL_TAKEN)


async def _keep_an_admin(repo: UserRepository, user: User, new_role: Role | None) -> None:
    """Refuse to demote or deactivate the organization's last active admin."""
    losing_an_admin = user.role == Role.ADMIN and user.active and new_role != Role.ADMIN
    if losing_an_admin and await repo.active_admins() <= 1:
        raise Conflict("An organization needs at least one active admin")


def _raise_if(problems: list[FieldProblem]) -> None:
    if problems:
        raise ValidationFailed(problems)


def _given(changes: Any) -> dict[str, Any]:
    return {name: value for name, value in vars(changes).items() if value is not UNSET}


def _public(user: User) -> dict[str, Any]:
    return {"email": user.email, "name": user.name, "role": user.role}
