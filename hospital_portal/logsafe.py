"""Log lines that request data cannot forge: control characters are escaped.

A transfer id or path taken from the URL may contain CR, LF, NUL or other
control characters. Written raw, a newline starts a forged log line. Every
portal logger gets a filter that escapes them in the final message, so no
call site has to remember to.
"""

from __future__ import annotations

import logging
import unicodedata

# Cc: C0/C1 controls (CR, LF, NUL, ESC); Cf: format characters such as U+202E
# (right-to-left override); Zl/Zp: the Unicode line and paragraph separators.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def escape_control(text: str) -> str:
    """Replace each control or line-breaking character with its backslash escape, such as ``\\n``."""
    return "".join(
        char.encode("unicode_escape").decode("ascii") if unicodedata.category(char) in _UNSAFE_CATEGORIES else char
        for char in text
    )


class EscapeControlCharacters(logging.Filter):
    """Rewrite a record's message with control characters escaped; the traceback is left as it is."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = escape_control(record.getMessage())
        record.args = None
        return True


_FILTER = EscapeControlCharacters()


def portal_logger(name: str) -> logging.Logger:
    """Return the named logger with the escaping filter attached (once)."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)

    return logger
