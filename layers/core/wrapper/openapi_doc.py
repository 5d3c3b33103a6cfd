"""The OpenAPI document, generated at build time from every function's routes and models
(``python -m localcloud openapi``) and shipped in the layer as ``openapi.json``."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    text = resources.files("wrapper").joinpath("openapi.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document
