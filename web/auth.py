"""Authentication by API key: `Authorization: Bearer KEY` or HTTP Basic with the key as password.

The Basic user name is free (LMSs often insist on one); the key alone identifies the credential,
and the credential decides the `authority` of every statement it writes.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.http import HTTPBase
from starlette.exceptions import HTTPException

from footprint.accounts import Credential, Scope, authenticate, note_use, scope_text
from web.deps import Services, ServicesDep

CHALLENGE = {"WWW-Authenticate": 'Basic realm="xAPI", Bearer'}


def unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers=CHALLENGE)


def key_from_header(header: str | None) -> str:
    """The API key carried by an Authorization header; raises 401 when absent or malformed."""
    if not header:
        raise unauthorized("credentials required: Authorization: Bearer KEY or Basic user:KEY")
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise unauthorized("malformed Basic credentials") from exc
        _user, sep, key = decoded.partition(":")
        if sep and key:
            return key
    raise unauthorized("unsupported or malformed Authorization header")


# Declared for the OpenAPI document (so "Authorize" in /docs works); the header is parsed below.
BEARER = HTTPBearer(auto_error=False, scheme_name="collegeKey", description="The college's API key: `Bearer KEY`.")
BASIC = HTTPBase(
    scheme="basic",
    scheme_name="xapiBasic",
    auto_error=False,
    description="For xAPI clients (LMSs): Basic with any user name and the API key as password.",
)
BearerDoc = Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)]
BasicDoc = Annotated[HTTPAuthorizationCredentials | None, Security(BASIC)]


def _authenticated(request: Request, services: Services) -> Credential:
    """The credential of this request (its own short session, so writes start clean); its use is noted."""
    key = key_from_header(request.headers.get("authorization"))
    with services.sessions() as session:
        credential = authenticate(session, key)
    if credential is None:
        raise unauthorized("unknown, revoked or expired API key")
    if credential.use_to_note():
        with services.writing() as session:
            note_use(session, credential.id)
    return credential


class Scoped:
    """The credential of a request whose key holds one of `scopes`: 401 without a valid key, 403 naming the scope
    the key lacks. With `optional`, a request without an Authorization header gets None (a wrong key is 401)."""

    def __init__(self, *scopes: Scope, optional: bool = False) -> None:
        self.scopes = scopes
        self.optional = optional

    def __call__(
        self, request: Request, services: ServicesDep, _bearer: BearerDoc, _basic: BasicDoc
    ) -> Credential | None:
        if self.optional and not request.headers.get("authorization"):
            return None
        credential = _authenticated(request, services)
        if not credential.allows(*self.scopes):
            raise missing_scope(credential, *self.scopes)
        return credential

    def __repr__(self) -> str:
        return f"Scoped({', '.join(scope.value for scope in self.scopes)})"


def missing_scope(credential: Credential, *needed: Scope) -> HTTPException:
    """403 that names the scope (or scopes, one of which) the request needs and those the key has."""
    wanted = " or ".join(f"`{scope.value}`" for scope in needed)
    held = scope_text(credential.scopes).replace(",", ", ") or "none"
    return HTTPException(
        403, f"this API key lacks the {wanted} scope (it has: {held}); an admin key can issue one that has it"
    )


XapiKey = Annotated[Credential, Depends(Scoped(Scope.XAPI))]
"""A key with the `xapi` scope (the learning record store)."""
SessionsKey = Annotated[Credential, Depends(Scoped(Scope.SESSIONS))]
"""A key with the `sessions` scope (exams, candidates, sessions, recordings, events, verdicts)."""
PeopleKey = Annotated[Credential, Depends(Scoped(Scope.PEOPLE))]
"""A key with the `people` scope (users and examiner assignments)."""
FootprintKey = Annotated[Credential, Depends(Scoped(Scope.FOOTPRINT))]
"""A key with the `footprint` scope (catalogue, indicators, compliance, evidence)."""
AdminKey = Annotated[Credential, Depends(Scoped(Scope.ADMIN))]
"""A key with the `admin` scope (keys, webhooks, college settings)."""
StatementReaderKey = Annotated[Credential | None, Depends(Scoped(Scope.XAPI, Scope.FOOTPRINT, optional=True))]
"""Optionally, a key that may read the college's statements (`xapi` or `footprint`)."""
