"""Text as people type it: one Unicode normal form for what is stored and what is searched.

Korean can be written two ways that look the same: each syllable as one code point (NFC, what
Windows and most keyboards send) or as its jamo in a row (NFD, what text copied from macOS often
is). A search in one form never matches text stored in the other, so the services store names in
NFC and the searches look for NFC.
"""

from __future__ import annotations

import unicodedata


def nfc(text: str) -> str:
    """The text in Unicode's composed normal form (NFC)."""
    return unicodedata.normalize("NFC", text)


def contains_pattern(text: str | None) -> str | None:
    """An (I)LIKE pattern that matches `text` anywhere, in NFC, with LIKE's wildcards escaped;
    None for no text."""
    if not text:
        return None
    escaped = nfc(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
