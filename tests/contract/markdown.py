"""Markdown as the guides' contract tests read it: prose with its code blocks blanked (lines
kept, so a line number is the file's), and the code blocks themselves."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

OPENING = re.compile(r"^ *(`{3,})([\w+-]*)[^`]*$")
HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)
CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)


@dataclass(frozen=True)
class Block:
    """A fenced code block: its language, the line its fence opens on, and its text with both fences."""

    language: str
    line: int
    text: str

    @property
    def body(self) -> str:
        """The block's lines between its fences."""
        return "\n".join(self.text.split("\n")[1:-1])


@dataclass(frozen=True)
class Page:
    """A Markdown file split into its prose (code blocks blanked, lines kept) and its code blocks."""

    prose: str
    blocks: tuple[Block, ...]


def split(text: str, name: str = "the text") -> Page:
    """Prose and code blocks; a fence closes on a line of at least its own backticks, as in CommonMark."""
    prose: list[str] = []
    blocks: list[Block] = []
    fence: tuple[str, str, int] | None = None  # backticks, language, line
    lines: list[str] = []
    for number, line in enumerate(text.split("\n"), 1):
        if fence is None and (opening := OPENING.match(line)):
            fence, lines = (opening.group(1), opening.group(2), number), [line]
            prose.append("")
        elif fence is not None:
            lines.append(line)
            prose.append("")
            if re.fullmatch(rf" *{fence[0]}`* *", line):
                blocks.append(Block(fence[1], fence[2], "\n".join(lines)))
                fence = None
        else:
            prose.append(line)
    assert fence is None, f"{name}: the code block opened on line {fence[2]} is never closed"
    return Page("\n".join(prose), tuple(blocks))


@functools.cache
def page(path: Path) -> Page:
    """The file, read once."""
    return split(path.read_text(encoding="utf-8"), path.name)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: its text lowercased, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"`([^`]*)`", r"\1", heading)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a Markdown file; a repeated one gets `-1`, `-2`, … as on GitHub."""
    seen: dict[str, int] = {}
    found = set()
    for m in HEADING.finditer(page(path).prose):
        s = slug(m.group(2))
        found.add(f"{s}-{seen[s]}" if s in seen else s)
        seen[s] = seen.get(s, 0) + 1
    return found
