"""`python -m web`: run the server with the settings from the environment (`PROCTOR_*`)."""

from __future__ import annotations

import logging
import sys

import uvicorn

from web.app import create_app
from web.settings import SettingsError, load_settings

logger = logging.getLogger("web")

HOW_TO = """LRS and ledger on %(url)s
  xAPI endpoint:   %(url)s/xapi   (Basic user:KEY or Bearer KEY; X-Experience-API-Version: 1.0.3 or 2.0.0)
  try it:          curl -u demo:$PROCTOR_BOOTSTRAP_API_KEY -H 'X-Experience-API-Version: 1.0.3' %(url)s/xapi/statements
  ledger:          %(url)s/ledger/checkpoint  %(url)s/ledger/public-key
                   %(url)s/ledger/proof/inclusion?statementId=ID  %(url)s/ledger/proof/consistency?first=M&second=N
  API docs:        %(url)s/docs"""


def main() -> int:
    """Start uvicorn; exit 2 with one clear line when the settings are wrong."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        logging.basicConfig(level=logging.ERROR, format="%(message)s")
        logger.error("error: %s", exc)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logger.info(HOW_TO, {"url": settings.base_url})
    if not settings.bootstrap_api_key:
        logger.warning("no PROCTOR_BOOTSTRAP_API_KEY set: no credentials exist yet, so every xAPI call gets 401")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level.lower())
    return 0


if __name__ == "__main__":
    sys.exit(main())
