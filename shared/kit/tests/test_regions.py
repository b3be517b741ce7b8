"""A firm's region, however staff write it, is one of the 17 시·도 by its short name."""

from __future__ import annotations

import unicodedata

import pytest

from mpe_kit.regions import REGIONS, region, region_spellings

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("typed", "short"),
    [
        ("경기", "경기"),
        ("경기도", "경기"),
        ("경기 도", "경기"),
        (" Gyeonggi ", "경기"),
        ("gyeonggi-do", "경기"),
        (unicodedata.normalize("NFD", "서울특별시"), "서울"),
        ("강원특별자치도", "강원"),
        ("강원도", "강원"),
        ("전북특별자치도", "전북"),
        ("세종특별자치시", "세종"),
        ("Jeju", "제주"),
    ],
)
def test_each_spelling_is_its_short_name(typed: str, short: str) -> None:
    assert region(typed) == short


@pytest.mark.parametrize("typed", ["", "판교", "Gyeonggi-gu", "광주시", "Mars"])
def test_what_is_no_division_or_is_ambiguous_is_refused_with_the_list(typed: str) -> None:
    # 광주시 is both 광주광역시 and a city of 경기: refused rather than guessed.
    with pytest.raises(ValueError, match="서울, 부산, 대구"):
        region(typed)


def test_there_are_seventeen_and_a_filter_finds_every_spelling() -> None:
    assert len(REGIONS) == 17
    assert region_spellings("경기도") == ["경기", "경기도", "Gyeonggi"]
    assert region_spellings("판교") == ["판교"]
