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

from footprint.accounts import Credential, authenticate
from web.deps import ServicesDep

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


def current_credential(request: Request, services: ServicesDep, _bearer: BearerDoc, _basic: BasicDoc) -> Credential:
    """The credential of this request (its own short session, so writes start clean)."""
    key = key_from_header(request.headers.get("authorization"))
    with services.sessions() as session:
        credential = authenticate(session, key)
    if credential is None:
        raise unauthorized("unknown API key")
    return credential


def optional_credential(
    request: Request, services: ServicesDep, bearer: BearerDoc, basic: BasicDoc
) -> Credential | None:
    """The credential of this request, or None when it carries no Authorization header (a wrong key is 401)."""
    if not request.headers.get("authorization"):
        return None
    return current_credential(request, services, bearer, basic)


CredentialDep = Annotated[Credential, Depends(current_credential)]
OptionalCredentialDep = Annotated[Credential | None, Depends(optional_credential)]
