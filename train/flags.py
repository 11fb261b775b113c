"""Settings that are command-line flags: a field's flag, and checks refusing a bad value by it."""
from __future__ import annotations

import math
from dataclasses import fields
from typing import Any, NoReturn


def flag(name: str) -> str:
    """The flag of field `name`: `--name-with-dashes`."""
    return "--" + name.replace("_", "-")


def refuse(settings: Any, name: str, why: str) -> NoReturn:
    """Raise ValueError("--flag=value: why") for field `name` of `settings`."""
    raise ValueError(f"{flag(name)}={getattr(settings, name)!r}: {why}")


def check_numbers(settings: Any) -> None:
    """Refuse the first float field of dataclass `settings` that is not a finite number
    (a bool, a string from JSON, NaN or infinity)."""
    for f in fields(settings):
        value = getattr(settings, f.name)
        if f.type in ("float", float) and (isinstance(value, bool) or not isinstance(
                value, (int, float)) or not math.isfinite(value)):
            refuse(settings, f.name, "must be a finite number")


def check_count(settings: Any, name: str, low: int = 1, zero: str = "") -> None:
    """Refuse field `name` of `settings` unless it is an integer >= low (not a bool);
    `zero` says what 0 means, for the message."""
    value = getattr(settings, name)
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        refuse(settings, name, f"must be an integer >= {low}" + (f" (0 = {zero})" if zero else ""))
