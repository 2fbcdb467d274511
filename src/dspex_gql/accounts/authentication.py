"""Credentials → Actor. `Authorization: Bearer <api key or token>` on HTTP; the same value as
`{"authorization": "Bearer …"}` in a websocket's connection_init payload.

One generic message for every failure: a client learns only that its credential did not work.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from dspex_gql.accounts.key_cache import KeyCache, KnownKey
from dspex_gql.accounts.keys import parse_key, secret_matches
from dspex_gql.accounts.models import ApiKey, User
from dspex_gql.accounts.repository import CredentialRepository
from dspex_gql.accounts.tokens import InvalidToken, Tokens
from dspex_gql.db.base import utcnow
from dspex_gql.db.uow import UnitOfWorkFactory
from dspex_gql.identity import Actor, Credential, CredentialKind, Origin
from dspex_gql.storable_input import storable

KEY_TOUCH_INTERVAL = timedelta(minutes=1)
"""`lastUsedAt` is written at most this often per key, not on every request."""


class Unauthenticated(Exception):
    def __init__(self, message: str = "Invalid or expired credentials") -> None:
        super().__init__(message)
        self.message = message


MISSING = "Authentication required: send Authorization: Bearer <API key or token>"


class Authenticator:
    def __init__(
        self, uow: UnitOfWorkFactory, tokens: Tokens, keys: KeyCache, *, anonymous_admin: bool
    ) -> None:
        self._uow = uow
        self._tokens = tokens
        self.keys = keys
        self._anonymous_admin = anonymous_admin

    async def authenticate(self, authorization: str | None, origin: Origin) -> Actor:
        if not authorization:
            return await self._anonymous(origin)
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip() or not storable(value):
            raise Unauthenticated()
        value = value.strip()
        if (parts := parse_key(value)) is not None:
            return await self._by_key(parts.prefix, parts.secret, origin)
        return await self._by_token(value, origin)

    async def recheck(self, actor: Actor, *, from_store: bool = False) -> Actor:
        """The actor as it is now, if the credential behind it still holds (each operation on an
        open websocket asks again: a revoked key, an expired token or a deactivated user stops,
        and a changed role applies): from the keys this process remembers, else (or when told
        of a change, which the cache may not have heard of yet) from the store."""
        key_id = actor.credential.key_id
        known = None if from_store or key_id is None else self.keys.of_key(key_id)
        if known is not None and not known.expired(utcnow()):
            return actor.with_role(known.role)
        async with self._uow.read() as tx:
            repo = CredentialRepository(tx.session)
            user = await repo.user(actor.user_id)
            key_id = actor.credential.key_id
            key = await repo.key(key_id) if key_id else None
        if user is None or not user.active:
            raise Unauthenticated()
        credential = actor.credential
        if credential.kind == CredentialKind.API_KEY and (key is None or not _usable(key)):
            raise Unauthenticated()
        if credential.kind == CredentialKind.TOKEN and not _current(credential, user):
            raise Unauthenticated()
        return actor.with_role(user.role)

    async def _by_key(self, prefix: str, secret: str, origin: Origin) -> Actor:
        known = self.keys.get(prefix)
        if known is None or not secret_matches(secret, known.secret_hash):
            known = await self._read_key(prefix, secret)
        if known.expired(utcnow()):
            raise Unauthenticated()
        await self._touch(known)
        credential = Credential(
            CredentialKind.API_KEY, key_id=known.key_id, expires_at=known.expires_at
        )
        return Actor(known.user_id, known.organization_id, known.role, credential, origin)

    async def _read_key(self, prefix: str, secret: str) -> KnownKey:
        changes_before = self.keys.changes
        async with self._uow.read() as tx:
            found = await CredentialRepository(tx.session).key_and_owner(prefix)
        if found is None or not secret_matches(secret, found[0].secret_hash):
            raise Unauthenticated()
        key, user = found
        if not _usable(key) or not user.active:
            raise Unauthenticated()
        known = KnownKey(
            key.secret_hash,
            key.id,
            key.expires_at,
            user.id,
            user.organization_id,
            user.role,
            key.last_used_at,
        )
        self.keys.put(prefix, known, changes_before)
        return known

    async def _by_token(self, token: str, origin: Origin) -> Actor:
        try:
            claims = self._tokens.verify(token)
        except InvalidToken:
            raise Unauthenticated() from None
        async with self._uow.read() as tx:
            user = await CredentialRepository(tx.session).user(claims.user_id)
        if user is None or not user.active or user.token_version != claims.version:
            raise Unauthenticated()
        credential = Credential(
            CredentialKind.TOKEN, token_version=claims.version, expires_at=claims.expires_at
        )
        return _actor(user, credential, origin)

    async def _anonymous(self, origin: Origin) -> Actor:
        if not self._anonymous_admin:
            raise Unauthenticated(MISSING)
        async with self._uow.read() as tx:
            admin = await CredentialRepository(tx.session).first_admin()
        if admin is None:
            raise Unauthenticated(MISSING)
        return _actor(admin, Credential(CredentialKind.ANONYMOUS), origin)

    async def _touch(self, key: KnownKey) -> None:
        now = utcnow()
        if key.last_used_at is not None and now - key.last_used_at < KEY_TOUCH_INTERVAL:
            return
        async with self._uow() as tx:
            await CredentialRepository(tx.session).touch_key(key.key_id, now)
        key.last_used_at = now


def _usable(key: ApiKey, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return key.revoked_at is None and (key.expires_at is None or key.expires_at > now)


def _current(token: Credential, user: User) -> bool:
    expired = token.expires_at is not None and token.expires_at <= utcnow()
    return token.token_version == user.token_version and not expired


def _actor(user: User, credential: Credential, origin: Origin) -> Actor:
    return Actor(
        user_id=user.id,
        organization_id=user.organization_id,
        role=user.role,
        credential=credential,
        origin=origin,
    )
