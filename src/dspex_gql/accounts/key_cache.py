"""API keys recently seen, so a request with one does not read the database to know who sent it.

An entry holds what authenticating the key found (its secret's hash, its expiry, its owner's id,
organization and role) for at most `ttl` seconds. It is dropped at once when anything about its
owner's credentials changes: in this process at commit (`forget_user`), in every other process
through the hub (`CredentialsChanged` on `channels.all_credentials()`). The cache answers only
while this process listens to that channel: while the hub is down, or the listener fell behind,
every request reads the database again, as if there were no cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Self
from uuid import UUID

from dspex_gql.accounts.events import CredentialsChanged
from dspex_gql.identity import Role
from dspex_gql.pubsub import Hub, HubUnavailable, SubscriberOverflow, channels

logger = logging.getLogger(__name__)

MAX_ENTRIES = 10_000
"""Past this many keys the cache starts again empty (a bound, not a policy)."""
RELISTEN_SECONDS = 1.0


@dataclass(slots=True)
class KnownKey:
    secret_hash: str
    key_id: UUID
    expires_at: datetime | None
    user_id: UUID
    organization_id: UUID
    role: Role
    last_used_at: datetime | None
    """When `lastUsedAt` was last written (it is written at most once a minute)."""
    seen_at: float = 0.0
    """`time.monotonic()` when it was read from the database."""

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


class KeyCache:
    def __init__(self, hub: Hub, ttl_seconds: float) -> None:
        self._hub = hub
        self._ttl = ttl_seconds
        self._keys: dict[str, KnownKey] = {}
        self._prefixes: dict[UUID, str] = {}
        """Each remembered key's prefix by its id."""
        self._changes = 0
        """Credential changes heard so far: what was read before one may be stale."""
        self._listener: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self._not_listening = asyncio.Event()
        self._not_listening.set()

    async def __aenter__(self) -> Self:
        if self._ttl > 0:
            self._listener = asyncio.create_task(self._listen(), name="api key cache listener")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener

    def get(self, prefix: str) -> KnownKey | None:
        known = self._keys.get(prefix)
        if known is None:
            return None
        if not self._listening.is_set() or time.monotonic() - known.seen_at >= self._ttl:
            del self._keys[prefix]
            self._prefixes.pop(known.key_id, None)
            return None
        return known

    def of_key(self, key_id: UUID) -> KnownKey | None:
        """The key with this id, if remembered (an open websocket asks on every operation)."""
        prefix = self._prefixes.get(key_id)
        return None if prefix is None else self.get(prefix)

    @property
    def changes(self) -> int:
        """Read before reading a key from the database, and give it back to `put`."""
        return self._changes

    def put(self, prefix: str, known: KnownKey, changes_before_reading: int) -> None:
        """Remember the key, unless a credential changed since it was read (it may be one)."""
        if not self._listening.is_set() or changes_before_reading != self._changes:
            return
        if len(self._keys) >= MAX_ENTRIES:
            self._forget_all()
        known.seen_at = time.monotonic()
        self._keys[prefix] = known
        self._prefixes[known.key_id] = prefix

    def forget_user(self, user_id: UUID) -> None:
        """Whatever changed about this user's credentials, no request takes it from here."""
        self._changes += 1
        self._keys = {p: k for p, k in self._keys.items() if k.user_id != user_id}
        self._prefixes = {known.key_id: prefix for prefix, known in self._keys.items()}

    async def listening(self) -> None:
        """Until the cache listens (and so keeps what it is given)."""
        await self._listening.wait()

    async def not_listening(self) -> None:
        """Until the cache has stopped listening (and so has forgotten everything)."""
        await self._not_listening.wait()

    def _forget_all(self) -> None:
        self._keys.clear()
        self._prefixes.clear()

    async def _listen(self) -> None:
        while True:
            try:
                channel = channels.all_credentials()
                async with self._hub.subscribe(channel, CredentialsChanged) as changes:
                    self._not_listening.clear()
                    self._listening.set()
                    async for change in changes:
                        self.forget_user(change.user_id)
            except (HubUnavailable, SubscriberOverflow) as error:
                logger.info("API keys are read from the database until the hub is back: %s", error)
            finally:
                self._changes += 1
                self._forget_all()
                self._listening.clear()
                self._not_listening.set()
            await asyncio.sleep(RELISTEN_SECONDS)
