"""The tool's own RSA keys: the newest signs (client assertions, deep-linking answers, exam links); a key retired by
a rotation stays in the public keyset for `KEEP_RETIRED` so what it signed still verifies while platforms cache it.

Platforms fetch the public keyset from `/lti/jwks`; the private keys are kept in the database (backed up with it).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select
from sqlalchemy.orm import Session

from footprint.store.times import as_utc
from proctor.lti.tables import ToolKeyRow

KEEP_RETIRED = timedelta(days=7)
"""How long a retired key stays in the public keyset (platforms cache keysets for hours, Moodle for a day)."""
ALGORITHM = "RS256"


@dataclass(frozen=True)
class ToolKey:
    kid: str
    private_key: rsa.RSAPrivateKey
    created_at: datetime
    retired_at: datetime | None

    def public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key()))
        return {**jwk, "kid": self.kid, "alg": ALGORITHM, "use": "sig"}

    def sign(self, payload: dict[str, Any]) -> str:
        return jwt.encode(payload, self.private_key, algorithm=ALGORITHM, headers={"kid": self.kid})


def _key(row: ToolKeyRow) -> ToolKey:
    private = serialization.load_pem_private_key(row.private_pem.encode(), password=None)
    if not isinstance(private, rsa.RSAPrivateKey):
        raise ValueError(f"tool key {row.kid} is not an RSA key")
    return ToolKey(row.kid, private, as_utc(row.created_at), as_utc(row.retired_at))


def _new_row(now: datetime) -> ToolKeyRow:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return ToolKeyRow(kid=f"{now:%Y%m%d}-{secrets.token_hex(4)}", private_pem=pem, created_at=now)


def signing_key(db: Session) -> ToolKey:
    """The key that signs now (made on first use, in the caller's write transaction)."""
    row = db.scalar(
        select(ToolKeyRow).where(ToolKeyRow.retired_at.is_(None)).order_by(ToolKeyRow.created_at.desc()).limit(1)
    )
    if row is None:
        row = _new_row(datetime.now(UTC))
        db.add(row)
        db.flush()
    return _key(row)


def rotate(db: Session, now: datetime | None = None) -> ToolKey:
    """A new signing key; the ones before it are retired (still published for `KEEP_RETIRED`)."""
    moment = now or datetime.now(UTC)
    for row in db.scalars(select(ToolKeyRow).where(ToolKeyRow.retired_at.is_(None))):
        row.retired_at = moment
    row = _new_row(moment)
    db.add(row)
    db.flush()
    return _key(row)


def published(db: Session, now: datetime | None = None) -> list[ToolKey]:
    """The keys of the public keyset: the signing key and those retired less than `KEEP_RETIRED` ago."""
    moment = now or datetime.now(UTC)
    keys = [_key(row) for row in db.scalars(select(ToolKeyRow).order_by(ToolKeyRow.created_at.desc()))]
    return [key for key in keys if key.retired_at is None or moment - key.retired_at < KEEP_RETIRED]


def every_key(db: Session) -> dict[str, ToolKey]:
    """Every key the tool ever had, by kid (what it signed long ago, such as an exam link, still verifies)."""
    return {key.kid: key for key in map(_key, db.scalars(select(ToolKeyRow)))}


def verify(db: Session, token: str, audience: str) -> dict[str, Any]:
    """The claims of a JWT this tool signed for `audience` (an exam link, a deep-linking choice, a registration
    link), under any key it ever had; a jwt.PyJWTError (ExpiredSignatureError among them) when it is not one."""
    key = every_key(db).get(str(jwt.get_unverified_header(token).get("kid")))
    if key is None:
        raise jwt.InvalidSignatureError("not signed by a key of this tool")
    claims: dict[str, Any] = jwt.decode(token, key.private_key.public_key(), algorithms=[ALGORITHM], audience=audience)
    return claims


def keyset(db: Session, now: datetime | None = None) -> dict[str, Any]:
    """The public JWKS document."""
    return {"keys": [key.public_jwk() for key in published(db, now)]}
