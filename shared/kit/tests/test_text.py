"""One normal form for stored and searched text."""

from __future__ import annotations

import unicodedata

import pytest

from mpe_kit.text import contains_pattern, normalized

pytestmark = pytest.mark.unit


def test_decomposed_korean_is_composed() -> None:
    decomposed = unicodedata.normalize("NFD", "반도체")
    assert len(decomposed) == 7  # ㅂㅏㄴ ㄷㅗ ㅊㅔ
    assert normalized(decomposed) == "반도체"


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        (None, None),
        ("", None),
        ("50%_a\\b", "%50\\%\\_a\\\\b%"),
        (unicodedata.normalize("NFD", "필름"), "%필름%"),
        ("ＯＬＥＤ　봉지", "%OLED 봉지%"),
        ("５０％", "%50\\%%"),  # a full-width % is folded, then escaped like any other
    ],
)
def test_a_contains_pattern_escapes_like_and_is_composed(text: str | None, pattern: str | None) -> None:
    assert contains_pattern(text) == pattern


def test_full_width_ascii_is_folded_and_nothing_else_of_nfkc() -> None:
    assert normalized("ＳｉＣ　전력반도체（５Ｇ）") == "SiC 전력반도체(5G)"
    # NFKC would rewrite these; a name may mean them as written.
    for kept in ("㎛", "Ⅱ", "①", "ｶ", "㈜"):
        assert normalized(kept) == kept
