"""Typed FastAPI dependencies: the services built at start, DB sessions, settings, the request body.

The services live in the lifespan state (not as attributes stuck onto the app), so every request
reaches the same engine, ledger and settings through `ServicesDep`.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, cast

from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from footprint.ledger import Ledger
from footprint.xapi.errors import PayloadTooLarge
from web.settings import Settings


@dataclass(frozen=True)
class Services:
    """What the app builds once at start and every request shares."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    ledger: Ledger
    write_lock: threading.Lock = field(default_factory=threading.Lock)

    def secret(self, purpose: str) -> bytes:
        """A secret of this platform for one purpose (device cookies, ...), derived from the ledger's signing key, so
        every node has the same one and nothing else must be kept."""
        signer = self.ledger.signer
        raw = (
            b"" if signer is None else signer.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        )
        return hashlib.sha256(b"proctor-kz " + purpose.encode() + b"\0" + raw).digest()

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A session for one write transaction, committed on success.

        SQLite has one writer: serialising writers in-process avoids read-to-write lock upgrades
        failing with "database is locked" when two requests write at once.
        """
        serial = self.engine.dialect.name == "sqlite"
        if serial:
            self.write_lock.acquire()
        try:
            with self.sessions() as session, session.begin():
                yield session
        finally:
            if serial:
                self.write_lock.release()


def get_services(request: Request) -> Services:
    """The services of this app (lifespan state)."""
    return cast(Services, request.state.services)


ServicesDep = Annotated[Services, Depends(get_services)]


def get_settings(services: ServicesDep) -> Settings:
    return services.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_session(services: ServicesDep) -> Iterator[Session]:
    """A read session, closed after the request."""
    with services.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


async def read_body(request: Request, services: ServicesDep) -> bytes:
    """The raw request body, refused with 413 past the configured limit."""
    limit = services.settings.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


BodyDep = Annotated[bytes, Depends(read_body)]
