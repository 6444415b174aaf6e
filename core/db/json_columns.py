"""Reading piccolo JSON columns, which come back as text unless a query asks to load them."""

from __future__ import annotations

import json
from typing import Any


def json_value(value: Any) -> Any:
    """The Python value of a JSON column read from a row (text is parsed, loaded values pass)."""
    return json.loads(value) if isinstance(value, str) else value
