"""Text as people type it: one Unicode normal form for what is stored and what is searched.

Korean can be written two ways that look the same: each syllable as one code point (NFC, what
Windows and most keyboards send) or as its jamo in a row (NFD, what text copied from macOS often
is). A search in one form never matches text stored in the other, so the services store names in
NFC and the searches look for NFC.

Korean input methods also type Latin letters, digits and signs full width (`ＯＬＥＤ`, `５Ｇ`,
U+FF01 to U+FF5E, and the ideographic space U+3000). They are folded to their ASCII forms in
what is stored and what is searched alike. Nothing else of NFKC is applied: it would also
rewrite units and symbols a name may mean (`㎛`, `Ⅱ`, `①`).
"""

from __future__ import annotations

import unicodedata

NO_NUL = r"^[^\x00]*$"
"""The pattern of the services' text fields: anything but NUL, which Postgres text cannot hold."""

# Full-width ASCII (U+FF01..U+FF5E) to ASCII (U+0021..U+007E); the ideographic space to a space.
_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def normalized(text: str) -> str:
    """The text as it is stored and searched: in Unicode's composed normal form (NFC), with
    full-width ASCII folded to ASCII."""
    return unicodedata.normalize("NFC", text).translate(_HALF_WIDTH)


def contains_pattern(text: str | None) -> str | None:
    """An (I)LIKE pattern that matches `text` anywhere, in NFC, with LIKE's wildcards escaped;
    None for no text."""
    if not text:
        return None
    escaped = normalized(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
