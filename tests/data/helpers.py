"""Small helpers the data tests share: write a file, catch the one-line DataError."""

from __future__ import annotations

from pathlib import Path

import pytest

from cityfocus.data.readers import load_dataset
from cityfocus.errors import DataError


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def error_of(*args, **options) -> str:
    """The message of the DataError ``load_dataset(*args, **options)`` raises (one line)."""
    with pytest.raises(DataError) as info:
        load_dataset(*args, **options)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message
