"""Secrets — API key secrets, passwords, tokens — never reach logs or error messages."""

from __future__ import annotations

import json
import logging

import pytest

from tests.support.http_client import GraphQLClient
from tests.support.people import PASSWORD, member

CREATE_KEY = """mutation { createApiKey(name: "ci") {
  ... on NewApiKey { secret } ... on Error { message } } }"""
SIGN_IN = """mutation($email: String!, $password: String!) {
  signIn(email: $email, password: $password) {
    ... on AuthPayload { token } ... on Error { message code } } }"""
CHANGE = """mutation($current: String!, $new: String!) {
  changePassword(currentPassword: $current, newPassword: $new) {
    ... on AuthPayload { token } ... on Error { message } } }"""


async def test_secrets_stay_out_of_logs_and_errors(
    client: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        someone = await member(client, "USER")
        key = (await someone.client.data(CREATE_KEY))["createApiKey"]["secret"]
        wrong_password = await client.acting_as(None).execute(
            SIGN_IN, email=someone.email, password="hunter2-but-longer"
        )
        tampered_key = key[:-4] + "AAAA"
        with_bad_key = await client.acting_as(tampered_key).execute("{ me { id } }")
        with_bad_token = await client.acting_as(someone.token + "x").execute("{ me { id } }")
        changed = await someone.client.execute(
            CHANGE, current=PASSWORD, new="another long password"
        )

    secrets = [
        key,
        key.split("_", 2)[2],
        tampered_key,
        someone.key,
        someone.token,
        PASSWORD,
        "hunter2-but-longer",
        "another long password",
        changed["data"]["changePassword"]["token"],
    ]
    logged = "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records)
    answers = json.dumps([wrong_password, with_bad_key, with_bad_token])
    leaked = [secret for secret in secrets if secret in logged or secret in answers]
    assert leaked == []
    assert with_bad_key["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert wrong_password["data"]["signIn"]["code"] == "VALIDATION_FAILED"
