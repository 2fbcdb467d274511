from __future__ import annotations

from uuid import UUID

from dspex_gql.pubsub import Event


class CredentialsChanged(Event):
    """Some credential of a user stopped working (a key revoked, the user deactivated, the
    password changed): its open subscriptions check theirs again, and end if it is one of them.
    """

    user_id: UUID
    reason: str

    @property
    def key(self) -> str:
        return str(self.user_id)
