"""The library's own bad-input errors, apart from every other module so that any of them can import it.

``BadInput`` is a ``ValueError`` (and ``BadType`` also a ``TypeError``): code that catches ``ValueError``
keeps working, while the CLI can tell our validation messages (exit 2, one line) from bugs (exit 1).
"""

from __future__ import annotations


class BadInput(ValueError):
    """Input that seqattn refuses: a bad value, column, file or setting; the message names it."""


class BadType(BadInput, TypeError):
    """Input of the wrong type (e.g. a non-number where a number is expected)."""


class UsageError(BadInput):
    """Bad input from the command line: reported in one line, exit status 2."""
