"""Settings a deployment gives the service: secrets from files (`DSPEX_X_FILE`, as Docker and
Kubernetes mount them) and the first admin made from settings, once, whatever the restarts and
replicas."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from pydantic import ValidationError

from dspex_gql.app import secrets_of
from dspex_gql.config import SecretsSettings, ServerSettings, Settings
from tests.support.app import make_settings, running
from tests.support.people import SIGN_IN
from tests.support.processes import Server, clean_env, one_error_line, run_cli

JWT_SECRET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEF"
FERNET_KEY = "9Ghs3sC1Xk1v6Gk0Q3k0b0pJv3xg0tQ2Zr1d8q5y2KQ="
PASSWORD = "a long enough admin passphrase"
WHO_AM_I = "{ me { email role organization { name } } }"


def secret_file(directory: Path, name: str, content: str) -> str:
    path = directory / name
    path.write_text(content + "\n")  # as `echo` and most editors leave it
    return str(path)


class TestSecretsFromFiles:
    def test_each_secret_setting_reads_its_file(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        files = {
            "DSPEX_DATABASE_URL_FILE": "postgresql+asyncpg://dspex:pw@db/dspex",
            "DSPEX_BROADCAST_URL_FILE": "redis://:pw@redis:6379/0",
            "DSPEX_LIMITS_REDIS_URL_FILE": "redis://:pw@redis:6379/1",
            "DSPEX_AUTH_JWT_SECRET_FILE": JWT_SECRET,
            "DSPEX_ADMIN_PASSWORD_FILE": PASSWORD,
            "DSPEX_METRICS_TOKEN_FILE": "scrape-token",
        }
        for variable, content in files.items():
            monkeypatch.setenv(variable, secret_file(tmp_path, variable, content))
        monkeypatch.setenv("DSPEX_ADMIN_EMAIL", "ops@example.test")

        settings = Settings()

        assert settings.database.url == "postgresql+asyncpg://dspex:pw@db/dspex"
        assert settings.broadcast.url == "redis://:pw@redis:6379/0"
        assert settings.limits.redis_url == "redis://:pw@redis:6379/1"
        assert settings.auth.jwt_secret is not None
        assert settings.auth.jwt_secret.get_secret_value() == JWT_SECRET
        assert settings.admin.password is not None
        assert settings.admin.password.get_secret_value() == PASSWORD
        assert settings.metrics.token is not None
        assert settings.metrics.token.get_secret_value() == "scrape-token"

    def test_the_secrets_key_file_serves_any_host(self, tmp_path: Path) -> None:
        key_file = Path(secret_file(tmp_path, "fernet", FERNET_KEY))
        settings = Settings(
            server=ServerSettings(host="0.0.0.0"), secrets=SecretsSettings(key_file=key_file)
        )

        box = secrets_of(settings)

        assert box.decrypt(box.encrypt("sk-test")) == "sk-test"

    def test_a_setting_and_its_file_both_set_is_an_error(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("DSPEX_SECRETS_KEY", FERNET_KEY)
        monkeypatch.setenv("DSPEX_SECRETS_KEY_FILE", secret_file(tmp_path, "k", FERNET_KEY))

        with pytest.raises(ValidationError, match="both set"):
            Settings()

    @pytest.mark.parametrize(
        ("variables", "says"),
        [
            (
                {"DSPEX_DATABASE_URL": "sqlite+aiosqlite:///x.db", "DSPEX_DATABASE_URL_FILE": "f"},
                "DSPEX_DATABASE_URL and DSPEX_DATABASE_URL_FILE are both set: keep one",
            ),
            (
                {"DSPEX_DATABASE_URL_FILE": "missing"},
                "DSPEX_DATABASE_URL_FILE: cannot read missing: No such file or directory",
            ),
            ({"DSPEX_ADMIN_EMAIL": "ops@example.test"}, "go together"),
        ],
    )
    def test_mistakes_are_one_line_before_anything_starts(
        self, tmp_path: Path, variables: dict[str, str], says: str
    ) -> None:
        (tmp_path / "f").write_text("sqlite+aiosqlite:///y.db\n")

        result = run_cli("serve", cwd=tmp_path, env=clean_env(**variables))

        assert result.returncode == 2
        assert says in one_error_line(result)

    def test_the_command_line_uses_the_database_a_file_names(
        self, tmp_path: Path, fresh_database: str
    ) -> None:
        url_file = secret_file(tmp_path, "database-url", fresh_database)

        result = run_cli("migrate", cwd=tmp_path, env=clean_env(DSPEX_DATABASE_URL_FILE=url_file))

        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().endswith("(head)")


class TestTheFirstAdminFromSettings:
    def env(self, tmp_path: Path, database: str) -> dict[str, str]:
        return clean_env(
            DSPEX_DATABASE_URL=database,
            DSPEX_ADMIN_EMAIL="Ops@Example.test",
            DSPEX_ADMIN_PASSWORD_FILE=secret_file(tmp_path, "admin-password", PASSWORD),
            DSPEX_ADMIN_ORGANIZATION="Acme Ops",
        )

    async def sign_in(self, server: Server) -> dict[str, object]:
        signed = await server.post(SIGN_IN, None, email="ops@example.test", password=PASSWORD)
        token = signed["data"]["signIn"]["token"]
        me: dict[str, object] = (await server.post(WHO_AM_I, token))["data"]["me"]
        return me

    async def test_is_made_once_by_replicas_starting_together_and_after_restarts(
        self, tmp_path: Path, fresh_database: str
    ) -> None:
        env = self.env(tmp_path, fresh_database)
        replicas = [Server(tmp_path, env, log=f"replica-{i}.log") for i in range(2)]
        try:
            for replica in replicas:
                replica.wait_ready()
            me = await self.sign_in(replicas[0])
        finally:
            for replica in replicas:
                replica.stop()
        again = Server(tmp_path, env, log="restart.log")
        try:
            again.wait_ready()
            me_again = await self.sign_in(again)
            users = await again.post("{ users { totalCount } }", None)
        finally:
            again.stop()

        assert me == {
            "email": "ops@example.test",
            "role": "ADMIN",
            "organization": {"name": "Acme Ops"},
        }
        assert me_again == me
        assert users["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        logs = [server.log.read_text() for server in [*replicas, again]]
        assert sum("Made the admin ops@example.test" in log for log in logs) == 1
        assert not any(server.printed_keys() for server in [*replicas, again])

    def test_a_weak_password_stops_the_start_in_one_line(self, tmp_path: Path) -> None:
        env = clean_env(DSPEX_ADMIN_EMAIL="ops@example.test", DSPEX_ADMIN_PASSWORD="short")

        result = run_cli("serve", cwd=tmp_path, env=env)

        assert result.returncode == 2
        assert "DSPEX_ADMIN_*: the first admin's password must be at least" in one_error_line(
            result
        )


class TestGarbageCollection:
    async def test_the_young_threshold_holds_while_the_service_runs(
        self, database_url: str
    ) -> None:
        before = gc.get_threshold()
        settings = make_settings(
            database_url, server=ServerSettings(gc_freeze=False, gc_threshold=12_345)
        )

        async with running(settings):
            during = gc.get_threshold()

        assert during == (12_345, *before[1:])
        assert gc.get_threshold() == before

    def test_a_threshold_below_one_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="gc_threshold"):
            ServerSettings(gc_threshold=0)
