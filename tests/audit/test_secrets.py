"""No secret ever appears in the log."""

from __future__ import annotations

import json
import uuid

from tests.audit.helpers import (
    CHANGE_PASSWORD,
    CREATE_KEY,
    CREATE_PROGRAM,
    CREATE_USER,
    NEW_PASSWORD,
    SIGN_IN,
    UPDATE_METRICS,
    UPDATE_ORGANIZATION,
    UPDATE_PROGRAM,
    Team,
    every_row,
)
from tests.support.factories import create_program, unique


class TestSecretsNeverAppear:
    async def test_keys_passwords_tokens_and_secret_configuration_are_kept_out(
        self, team: Team
    ) -> None:
        admin = team.admin
        key = (await admin.data(CREATE_KEY, name="secret holder"))["createApiKey"]
        user_password = "the new users own passphrase"
        email = f"pw-{uuid.uuid4().hex[:8]}@example.test"
        await admin.data(
            CREATE_USER, input={"email": email, "name": "Pw", "password": user_password}
        )
        signed_in = (
            await admin.acting_as(None).data(SIGN_IN, email=email, password=user_password)
        )["signIn"]
        as_user = admin.acting_as(signed_in["token"])
        changed = (await as_user.data(CHANGE_PASSWORD, current=user_password, new=NEW_PASSWORD))[
            "changePassword"
        ]
        configuration = {"api_key": "sk-live-123", "nested": {"password": "p"}, "temperature": 0.1}
        program = (
            await admin.data(
                CREATE_PROGRAM,
                input={
                    "name": unique("p"),
                    "signatureSpec": "question -> answer",
                    "configuration": configuration,
                },
            )
        )["createProgram"]
        await admin.data(
            UPDATE_PROGRAM,
            id=program["id"],
            input={"configuration": {"apiKey": "sk-live-456", "temperature": 0.3}},
        )
        await admin.data(
            UPDATE_METRICS, id=program["id"], metrics={"auth_token": "tok-789", "accuracy": 1}
        )
        await admin.data(
            UPDATE_ORGANIZATION, input={"settings": {"openai_secret": "sk-org-000", "tier": 2}}
        )

        rows = await every_row(admin)
        logged = json.dumps(rows)

        secret = key["secret"]
        for value in (
            secret,
            secret.split("_", 2)[2],  # dsx_<prefix>_<secret>
            user_password,
            NEW_PASSWORD,
            signed_in["token"],
            changed["token"],
            "sk-live-123",
            "sk-live-456",
            "tok-789",
            "sk-org-000",
        ):
            assert value not in logged
        created = next(r for r in rows if r["action"] == "program.create")
        assert created["resourceId"] == program["id"]
        assert created["changes"]["configuration"] == {
            "api_key": "[redacted]",
            "nested": {"password": "[redacted]"},
            "temperature": 0.1,
        }
        updated = next(r for r in rows if r["action"] == "program.update")
        assert updated["changes"]["configuration"] == {
            "apiKey": "[redacted]",
            "temperature": 0.3,
        }
        metrics = next(r for r in rows if r["action"] == "program.updateMetrics")
        assert metrics["changes"] == {"metrics": {"auth_token": "[redacted]", "accuracy": 1}}
        settings = next(r for r in rows if r["action"] == "organization.update")
        assert settings["changes"] == {"settings": {"openai_secret": "[redacted]", "tier": 2}}

    async def test_what_the_program_holds_is_not_redacted(self, team: Team) -> None:
        configuration = {"api_key": "sk-live-123", "nested": {"password": "p"}, "temperature": 0.1}

        program = await create_program(team.admin, configuration=configuration, ready=False)

        assert program["configuration"] == configuration
