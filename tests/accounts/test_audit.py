"""The audit rows of account changes."""

from __future__ import annotations

import json

from tests.accounts.helpers import CHANGE_PASSWORD, update_user
from tests.support.http_client import GraphQLClient
from tests.support.people import PASSWORD, member


class TestAuditOfAccounts:
    async def test_account_changes_are_recorded_without_secrets(
        self, client: GraphQLClient
    ) -> None:
        someone = await member(client)
        await someone.client.data(CHANGE_PASSWORD, current=PASSWORD, new="another passphrase")
        await update_user(client, someone.id, role="VIEWER")

        logs = await client.data(
            """query($id: ID!) { auditLogs(filter: {actorId: {eq: $id}}, first: 100) {
                 nodes { action resourceType resourceId changes actor { id } } } }""",
            id=someone.id,
        )
        admin_logs = await client.data(
            """query($id: String!) { auditLogs(filter: {resourceId: {eq: $id}}, first: 100) {
                 nodes { action changes } } }""",
            id=someone.id,
        )

        actions = [node["action"] for node in logs["auditLogs"]["nodes"]]
        assert {"auth.signIn", "apiKey.create", "user.changePassword"} <= set(actions)
        about_them = {node["action"]: node["changes"] for node in admin_logs["auditLogs"]["nodes"]}
        assert about_them["user.update"] == {"role": "VIEWER"}
        assert about_them["user.create"]["email"] == someone.email
        text = json.dumps([logs, admin_logs])
        assert PASSWORD not in text
        assert "another passphrase" not in text
        assert someone.key.split("_", 2)[2] not in text
        assert someone.token not in text
