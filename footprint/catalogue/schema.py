"""The catalogue's JSON Schema: generated from the pydantic models and shipped as `catalogue.schema.json`
(a test keeps the shipped file equal to the models), so colleges validate their files before importing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from footprint.catalogue.model import Catalogue

SCHEMA_FILE = Path(__file__).parent / "catalogue.schema.json"
SCHEMA_ID = "https://proctor.kz/schemas/footprint-catalogue-1.json"


def catalogue_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a catalogue import."""
    schema = Catalogue.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def shipped_schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return loaded


def write_schema() -> None:
    """Regenerate the shipped file (`python -m footprint.catalogue.schema`) after changing the models."""
    SCHEMA_FILE.write_text(json.dumps(catalogue_schema(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write_schema()
