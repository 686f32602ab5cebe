"""What the look test's sheets, key and scoring share: the one-line user error, the answer sides, the key's name."""

from __future__ import annotations

KEY_FILE = "key.json"
SIDES = ("A", "B")


class UserError(Exception):
    """A mistake in the command line or its files: ``str(err)`` is the one-line message shown."""
