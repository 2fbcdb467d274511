"""The API key is write-only: encrypted at rest, never returned, logged or audited; stored only
with a secrets key, which a developer's loopback server makes for itself."""

from __future__ import annotations

import json
import logging
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from dspex_gql.config import DatabaseSettings, SecretsSettings, ServerSettings, Settings
from dspex_gql.secrets_box import KEY_FILE_NAME, default_key_file
from tests.language_models.helpers import (
    API_KEY,
    LIST,
    MODEL_QUERY,
    TEST,
    UPDATE,
    create,
    language_model,
    problems,
    run,
    stored_row,
)
from tests.support.app import make_settings, running
from tests.support.http_client import GraphQLClient
from tests.support.tenants import new_tenant

OTHER_KEY = "3uHYfZ6bYd8x7ZC6Xg3dXzZb7Qe0kIQm2kz0x4f0mOE="


@asynccontextmanager
async def admin_of(settings: Settings) -> AsyncIterator[GraphQLClient]:
    """The admin of a new organization on an app with these settings."""
    async with running(settings) as app:
        key = (await new_tenant(app)).admin_key
        async with GraphQLClient.for_app(app, key) as client:
            yield client


def on_host(database_url: str, host: str, key_file: Path | None = None) -> Settings:
    """Settings for a server bound to `host`, without DSPEX_SECRETS_KEY."""
    return make_settings(
        database_url,
        server=ServerSettings(host=host, gc_freeze=False),
        secrets=SecretsSettings(key=None, key_file=key_file),
    )


class TestNeverShown:
    async def test_not_in_responses_logs_or_the_audit_log(
        self, client: GraphQLClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.DEBUG):
            created = await language_model(client, apiKey=API_KEY)
            id = created["id"]
            answers = [
                created,
                await run(client, UPDATE, id=id, input={"apiKey": API_KEY + "-2"}),
                await run(client, UPDATE, id=id, input={"apiKey": API_KEY + "-3", "model": "x"}),
                await create(client, name=created["name"], apiKey=API_KEY + "-4"),
                await run(client, TEST, id=id),
                await client.data(MODEL_QUERY, id=id),
                await client.data(LIST),
            ]
            audit = await client.data(
                "{ auditLogs(first: 1000) { nodes { action changes metadata } } }"
            )

        logged = "\n".join(
            f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records
        )
        for text in (json.dumps(answers), logged, json.dumps(audit)):
            assert "sk-test" not in text
        changes = {
            row["action"]: row["changes"]
            for row in audit["auditLogs"]["nodes"]
            if row["action"].startswith("languageModel.")
        }
        assert changes["languageModel.create"]["apiKey"] == "[redacted]"
        assert changes["languageModel.update"] == {"apiKey": "[redacted]"}
        assert changes["languageModel.test"] == {"ok": False}

    async def test_an_introspected_type_has_no_key_field(self, client: GraphQLClient) -> None:
        data = await client.data('{ __type(name: "LanguageModel") { fields { name } } }')

        names = {field["name"] for field in data["__type"]["fields"]}
        assert "hasApiKey" in names
        assert not {name for name in names if "key" in name.lower()} - {"hasApiKey"}


class TestWithoutASecretsKey:
    async def test_a_public_server_refuses_to_store_a_key(self, database_url: str) -> None:
        async with admin_of(on_host(database_url, "0.0.0.0")) as client:
            refused = await create(client, apiKey=API_KEY, model="nope")
            keyless = await language_model(client)
            update = await run(client, UPDATE, id=keyless["id"], input={"apiKey": API_KEY})
            cleared = await run(client, UPDATE, id=keyless["id"], input={"apiKey": None})

        assert problems(refused) == [("model", "invalid"), ("apiKey", "unavailable")]
        message = refused["fieldErrors"][1]["message"]
        assert message.startswith("cannot be stored: the server has no secrets key: set ")
        assert "DSPEX_SECRETS_KEY" in message
        assert "Fernet.generate_key()" in message
        assert problems(update) == [("apiKey", "unavailable")]
        assert cleared["hasApiKey"] is False

    async def test_a_loopback_server_makes_a_key_file_once(
        self, database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        key_file = tmp_path / "secrets" / "dev.key"
        settings = on_host(database_url, "127.0.0.1", key_file=key_file)

        with caplog.at_level(logging.INFO, logger="dspex_gql.secrets_box"):
            async with admin_of(settings) as client:
                assert not key_file.exists()
                created = await language_model(client, apiKey=API_KEY)
                generated = key_file.read_bytes()
                await language_model(client, apiKey=API_KEY)
        async with admin_of(settings) as client:
            await language_model(client, apiKey=API_KEY)

        assert key_file.read_bytes() == generated
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        messages = [record.getMessage() for record in caplog.records]
        assert len(messages) == 1
        assert str(key_file) in messages[0]
        assert generated.strip().decode() not in messages[0]
        assert created["hasApiKey"] is True

    async def test_a_key_file_that_holds_no_key_is_reported(
        self, database_url: str, tmp_path: Path
    ) -> None:
        key_file = tmp_path / "broken.key"
        key_file.write_text("not a key\n")

        async with admin_of(on_host(database_url, "localhost", key_file=key_file)) as client:
            refused = await create(client, apiKey=API_KEY)

        assert problems(refused) == [("apiKey", "unavailable")]
        assert str(key_file) in refused["fieldErrors"][0]["message"]

    def test_the_default_key_file_is_beside_the_sqlite_database(self, tmp_path: Path) -> None:
        beside = Settings(
            database=DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'dspex.db'}"),
            secrets=SecretsSettings(key=None, key_file=None),
        )
        elsewhere = Settings(
            database=DatabaseSettings(url="postgresql+asyncpg://u@db.example.test/dspex"),
            secrets=SecretsSettings(key=None, key_file=None),
        )
        chosen = Settings(secrets=SecretsSettings(key=None, key_file=tmp_path / "k"))

        assert default_key_file(beside) == tmp_path / KEY_FILE_NAME
        assert default_key_file(elsewhere) == Path(KEY_FILE_NAME)
        assert default_key_file(chosen) == tmp_path / "k"


class TestTheSetting:
    def test_a_malformed_key_is_refused_without_echoing_it(self) -> None:
        with pytest.raises(ValidationError) as refused:
            SecretsSettings(key="not-a-fernet-key-but-a-secret")

        assert "DSPEX_SECRETS_KEY must be a Fernet key" in str(refused.value)
        assert "not-a-fernet-key-but-a-secret" not in str(refused.value)

    async def test_keys_stored_with_another_key_cannot_be_read(
        self, app: FastAPI, client: GraphQLClient, database_url: str
    ) -> None:
        created = await language_model(client, name="fast", apiKey=API_KEY)
        settings = make_settings(database_url, secrets=SecretsSettings(key=OTHER_KEY))
        assert (await stored_row(app, created["id"])).api_key_ciphertext

        async with (
            running(settings) as other,
            GraphQLClient.for_app(other, client.credential) as same,
        ):
            tested = await run(same, TEST, id=created["id"])

        assert tested["__typename"] == "ConflictError", tested
        assert tested["message"].startswith(
            "The API key of language model 'fast' cannot be read: it was encrypted with another "
            "secrets key"
        )
