"""A firm's region: one of Korea's 17 first-level divisions (시·도), by its short Korean name.

Staff type a region as they know it: `경기`, `경기도`, `경기 도`, or `Gyeonggi`. Stored as typed,
each spelling became a region of its own in the rollups by region. The write services store the
short name (`경기`), and the filters read any of those spellings as it (and find what was stored as
typed before the services checked regions).
"""

from __future__ import annotations

from mpe_kit.korean import Refusal
from mpe_kit.text import normalized

# The short name, then its full names (old and new: 강원도 became 강원특별자치도 in 2023, 전라북도
# 전북특별자치도 in 2024), then its romanized name.
_DIVISIONS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("서울", ("서울특별시", "서울시"), "Seoul"),
    ("부산", ("부산광역시", "부산시"), "Busan"),
    ("대구", ("대구광역시", "대구시"), "Daegu"),
    ("인천", ("인천광역시", "인천시"), "Incheon"),
    ("광주", ("광주광역시",), "Gwangju"),  # not 광주시: Gyeonggi has a city of that name
    ("대전", ("대전광역시", "대전시"), "Daejeon"),
    ("울산", ("울산광역시", "울산시"), "Ulsan"),
    ("세종", ("세종특별자치시", "세종시"), "Sejong"),
    ("경기", ("경기도",), "Gyeonggi"),
    ("강원", ("강원도", "강원특별자치도"), "Gangwon"),
    ("충북", ("충청북도",), "Chungbuk"),
    ("충남", ("충청남도",), "Chungnam"),
    ("전북", ("전라북도", "전북특별자치도"), "Jeonbuk"),
    ("전남", ("전라남도",), "Jeonnam"),
    ("경북", ("경상북도",), "Gyeongbuk"),
    ("경남", ("경상남도",), "Gyeongnam"),
    ("제주", ("제주도", "제주특별자치도"), "Jeju"),
)

REGIONS: tuple[str, ...] = tuple(short for short, _, _ in _DIVISIONS)
"""The short names, in the order of the statistics office's codes."""

_BY_SPELLING: dict[str, str] = {
    spelling: short
    for short, full, roman in _DIVISIONS
    for spelling in (short, *full, roman.lower(), f"{roman.lower()}-do")
}


def region(text: str) -> str:
    """The short name of the division `text` names, in any of its spellings; ValueError if none."""
    key = "".join(normalized(text).split()).lower()
    found = _BY_SPELLING.get(key)
    if found is None:
        raise Refusal(
            f"not a 시·도 of Korea: write one of {', '.join(REGIONS)} (or its full name)",
            ko=f"시·도가 아닙니다. 다음 중 하나(또는 그 정식 명칭)로 쓰십시오: {', '.join(REGIONS)}",
        )
    return found


def region_spellings(text: str) -> list[str]:
    """For a filter: every spelling of the division `text` names (its short name first), and the
    text as typed (in NFC), so that rows stored before regions were checked (`경기도`, `Gyeonggi`)
    are found with the rest."""
    typed = normalized(text)
    try:
        short = region(text)
    except ValueError:
        return [typed]
    found = [short, *next((*full, roman) for s, full, roman in _DIVISIONS if s == short), typed]
    return list(dict.fromkeys(found))
