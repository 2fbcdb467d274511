"""Signing in and signing up: the only operations that run before there is an actor."""

from __future__ import annotations

from uuid import UUID

from dspex_gql import validation
from dspex_gql.accounts.models import Organization
from dspex_gql.accounts.organizations import create_organization
from dspex_gql.accounts.passwords import Passwords
from dspex_gql.accounts.repository import CredentialRepository, OrganizationRepository
from dspex_gql.accounts.service import SignedIn, normalized_email, user_problems
from dspex_gql.accounts.tokens import Tokens
from dspex_gql.audit import recorder as audit
from dspex_gql.config import AuthSettings, LimitsSettings
from dspex_gql.db.base import utcnow
from dspex_gql.db.uow import UnitOfWorkFactory
from dspex_gql.errors import FieldProblem, Forbidden, ValidationFailed
from dspex_gql.identity import Actor, Credential, CredentialKind, Origin
from dspex_gql.ratelimit import Buckets, RateLimited

BAD_CREDENTIALS = "Invalid email or password"


class SessionService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        passwords: Passwords,
        tokens: Tokens,
        auth: AuthSettings,
        limits: LimitsSettings,
        buckets: Buckets,
    ) -> None:
        self._uow = uow
        self._passwords = passwords
        self._tokens = tokens
        self._auth = auth
        window = limits.sign_in_window_seconds
        per_account, per_address = (
            limits.sign_in_attempts_per_account,
            limits.sign_in_attempts_per_address,
        )
        self._per_account = buckets.limiter("sign-in-account", per_account, per_account / window)
        self._per_address = buckets.limiter("sign-in-address", per_address, per_address / window)

    async def sign_in(self, email: str, password: str, origin: Origin) -> SignedIn:
        email = normalized_email(email)
        await self.limit_attempt(email, origin)
        async with self._uow.read() as tx:
            user = await CredentialRepository(tx.session).user_by_email(email)
        valid = await self._passwords.verify(user.password_hash if user else None, password)
        if user is None or not valid or not user.active:
            raise ValidationFailed.single("credentials", BAD_CREDENTIALS, "invalid_credentials")
        async with self._uow() as tx:
            stored = await CredentialRepository(tx.session).user(user.id)
            assert stored is not None
            stored.last_login_at = utcnow()
            actor = _actor_of(stored.id, stored.organization_id, stored.role, origin)
            audit.record(tx, actor, "auth.signIn", "User", stored.id, {"method": "password"})
        token, expires_at = self._tokens.issue(stored.id, stored.token_version)
        return SignedIn(token, expires_at, stored)

    async def sign_up(
        self, organization_name: str, name: str, email: str, password: str, origin: Origin
    ) -> SignedIn:
        if not self._auth.allow_signup:
            raise Forbidden("Sign-up is disabled on this service")
        await self._limit_address(origin, "sign-up")
        email = normalized_email(email)
        problems = user_problems(email, name, password)
        problems += validation.text(
            "organizationName", organization_name, max_length=200, required=True
        )
        if problems:
            raise ValidationFailed(problems)
        password_hash = await self._passwords.hash(password)
        async with self._uow() as tx:
            created = await create_organization(
                tx,
                organization_name,
                email,
                admin_name=name.strip(),
                password_hash=password_hash,
                with_key=False,
                origin=origin,
            )
        admin = created.admin
        token, expires_at = self._tokens.issue(admin.id, admin.token_version)
        return SignedIn(token, expires_at, admin)

    async def organization(self, id: UUID) -> Organization:
        """The organization of a user this service already showed (a payload, an owner...)."""
        async with self._uow.read() as tx:
            organization = await OrganizationRepository(tx.session).get(id)
        assert organization is not None, "every user has an organization"
        return organization

    async def limit_attempt(self, email: str, origin: Origin) -> None:
        """Spend one attempt of the account and of the client address (sign-in, and guesses
        at a current password), or raise RateLimited."""
        wait = await self._per_account.take(email)
        if wait > 0:
            raise RateLimited("Too many attempts for this account; try again later", wait)
        await self._limit_address(origin, "sign-in")

    async def _limit_address(self, origin: Origin, what: str) -> None:
        wait = await self._per_address.take(origin.ip_address) if origin.ip_address else 0.0
        if wait > 0:
            raise RateLimited(f"Too many {what} attempts from this address; try again later", wait)


def _actor_of(user_id: object, organization_id: object, role: object, origin: Origin) -> Actor:
    return Actor(user_id, organization_id, role, Credential(CredentialKind.TOKEN), origin)  # type: ignore[arg-type]


__all__ = ["BAD_CREDENTIALS", "FieldProblem", "SessionService"]
