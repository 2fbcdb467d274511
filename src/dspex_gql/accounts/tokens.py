"""Signed session tokens (JWT, HS256, joserfc) with issuer, audience and expiry checked."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from joserfc.jwt import JWTClaimsRegistry

from dspex_gql.config import AuthSettings

logger = logging.getLogger(__name__)

ALGORITHM = "HS256"


@dataclass(frozen=True)
class TokenClaims:
    user_id: UUID
    version: int
    expires_at: datetime


class InvalidToken(Exception):
    pass


class Tokens:
    def __init__(self, settings: AuthSettings) -> None:
        self._settings = settings
        self._key = OctKey.import_key(_secret(settings))
        self._claims = JWTClaimsRegistry(
            iss={"essential": True, "value": settings.jwt_issuer},
            aud={"essential": True, "value": settings.jwt_audience},
            exp={"essential": True},
            iat={"essential": True},
            sub={"essential": True},
            ver={"essential": True},
        )

    def issue(
        self, user_id: UUID, version: int, now: datetime | None = None
    ) -> tuple[str, datetime]:
        now = now or datetime.now(UTC)
        expires = now + timedelta(seconds=self._settings.token_ttl_seconds)
        claims = {
            "sub": str(user_id),
            "iss": self._settings.jwt_issuer,
            "aud": self._settings.jwt_audience,
            "iat": int(now.timestamp()),
            "ver": version,
            "exp": int(expires.timestamp()),
            "jti": secrets.token_hex(8),
        }
        return jwt.encode({"alg": ALGORITHM}, claims, self._key), expires.replace(microsecond=0)

    def verify(self, token: str) -> TokenClaims:
        try:
            decoded = jwt.decode(token, self._key, algorithms=[ALGORITHM])
            self._claims.validate(decoded.claims)
            return TokenClaims(
                user_id=UUID(str(decoded.claims["sub"])),
                version=int(decoded.claims["ver"]),
                expires_at=datetime.fromtimestamp(int(decoded.claims["exp"]), UTC),
            )
        except (JoseError, ValueError, KeyError, TypeError) as error:
            raise InvalidToken(type(error).__name__) from None


def _secret(settings: AuthSettings) -> bytes:
    if settings.jwt_secret is not None:
        return settings.jwt_secret.get_secret_value().encode()
    logger.warning(
        "DSPEX_AUTH_JWT_SECRET is not set: sign-in tokens use a random key of this process and "
        "stop working when it restarts (API keys are not affected)"
    )
    return secrets.token_bytes(32)
