"""The platform's services without its web app: the data folder, the migrated database and the ledger's signing key.
The command-line tools (`python -m web keys …`, `create-admin`) build these alone, so they start in about a second
instead of loading every route and model of the server."""

from __future__ import annotations

import logging

from footprint.ledger import Ledger, Signer, generate_signer, load_signer, write_keypair
from footprint.ledger.history import read_history
from footprint.ledger.keys import PRIVATE_KEY_FILE
from footprint.store import make_engine, make_session_factory, migrate
from web.deps import Services
from web.private import make_private
from web.settings import Settings, SettingsError

logger = logging.getLogger("web.app")


def load_or_create_signer(settings: Settings) -> Signer:
    """The ledger signing key from its file; on first start (default file name) a fresh key is written."""
    path = settings.key_file
    name = settings.ledger_origin.replace(" ", "_")
    if path.exists():
        signer = load_signer(path, name)
        history = read_history(path)  # after a rotation: the key must be its current one (footprint/ledger/history.py)
        if history is not None:
            history.check_current(signer.verifier)
        return signer
    if path.name != PRIVATE_KEY_FILE:
        raise SettingsError(f"PROCTOR_SIGNING_KEY_FILE {path} does not exist")
    signer = generate_signer(name)
    write_keypair(signer, path.parent)
    logger.info("created ledger signing key %s", path)
    return signer


def build_services(settings: Settings) -> Services:
    """Create the data folder (its owner's only), migrate the database, load the key, and bootstrap the demo
    college."""
    make_private(settings)
    engine = make_engine(settings.db_url)
    migrate(engine)
    services = Services(
        settings,
        engine,
        make_session_factory(engine),
        Ledger(settings.ledger_origin.replace(" ", "_"), load_or_create_signer(settings)),
    )
    return services
