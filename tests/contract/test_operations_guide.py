"""The Korean operations runbook (docs/operations.ko.md) says what the English one
(docs/operations.md) says: the same sections in the same order, the same commands, the same
settings, and links that lead somewhere. An operator on call runs the same thing from either.

Only the prose is translated, and the comments of shell blocks: a shell block's commands, and
every other block as a whole, are the English file's byte for byte.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from .markdown import CODE_SPAN, HEADING, Block, anchors, page

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = ROOT / "docs" / "operations.md"
RUNBOOK_KO = ROOT / "docs" / "operations.ko.md"
RUNBOOKS = pytest.mark.parametrize("runbook", [RUNBOOK, RUNBOOK_KO], ids=["en", "ko"])

# Blocks whose `#` comments are prose, translated with the rest.
SHELLS = {"sh", "bash", "shell", "console", "zsh"}
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:[ \t]+\"[^\"]*\")?\)")
# An environment variable or setting: capitals and digits, with at least one underscore.
SETTING = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")
ALERT = re.compile(r"Mpe[A-Z]\w+")
# `<<EOF`, `<<'EOF'`, `<<-"EOF"`: the lines up to the word alone are data, not commands.
HEREDOC = re.compile(r"<<-?[ \t]*(['\"]?)([A-Za-z_]\w*)\1")


def headings(path: Path) -> list[tuple[int, str]]:
    """(level, text) of each heading outside code blocks, in order."""
    return [(len(m.group(1)), m.group(2)) for m in HEADING.finditer(page(path).prose)]


def _code(line: str) -> str:
    """The line without its comment: from a `#` that begins a word outside quotes.

    A word begins at the start of the line or after whitespace, so `a#b`, `${#x}`, `$#` and a
    URL's `#fragment` are not comments, nor is a `#` inside '…' or "…". Quotes are followed within
    the line only (a quoted string spanning lines is read alike on both sides, so at worst a
    difference there goes unnoticed, never a false one).
    """
    quote = ""
    escaped = False
    for i, c in enumerate(line):
        if escaped:
            escaped = False
        elif quote == "'":
            quote = "" if c == "'" else quote
        elif c == "\\":
            escaped = True
        elif quote == '"':
            quote = "" if c == '"' else quote
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line


def commands(script: str) -> str:
    """A shell script without its comments: a line that was only a comment is dropped, the code
    before a trailing comment is kept, and a here-document's lines (data) are kept as they are."""
    kept: list[str] = []
    end: str | None = None
    for line in script.split("\n"):
        if end is not None:
            kept.append(line)
            end = None if line.lstrip("\t") == end else end
            continue
        code = _code(line)
        if code.strip() or not line.strip():
            kept.append(code)
        if heredoc := HEREDOC.search(code):
            end = heredoc.group(2)
    return "\n".join(kept)


def compared(block: Block) -> str:
    """What must be the same in both runbooks: a shell block's commands, any other block whole."""
    return commands(block.text) if block.language in SHELLS else block.text


def code_spans(path: Path) -> set[str]:
    """The inline code of the prose, whitespace runs made one space (a span may wrap)."""
    return {" ".join(m.group(2).split()) for m in CODE_SPAN.finditer(page(path).prose)}


@pytest.mark.unit
def test_the_korean_runbook_has_the_same_headings_at_the_same_levels_in_the_same_order() -> None:
    en, ko = headings(RUNBOOK), headings(RUNBOOK_KO)
    assert len(en) >= 10
    assert [level for level, _ in ko] == [level for level, _ in en], "\n".join(
        f"{'#' * a} {x}  |  {'#' * b} {y}" for (a, x), (b, y) in zip(en, ko, strict=False)
    )


@pytest.mark.unit
def test_the_korean_runbook_keeps_each_alerts_section_under_the_alerts_name() -> None:
    # The alerts' runbook_url ends in the alert's name: the same anchor in both files.
    en = [text for _, text in headings(RUNBOOK) if ALERT.fullmatch(text)]
    assert len(en) >= 6
    assert [text for _, text in headings(RUNBOOK_KO) if ALERT.fullmatch(text)] == en


@pytest.mark.unit
def test_the_korean_runbook_shows_the_same_code_blocks_in_the_same_order() -> None:
    en, ko = page(RUNBOOK).blocks, page(RUNBOOK_KO).blocks
    assert len(ko) == len(en), f"operations.md has {len(en)} code blocks, operations.ko.md {len(ko)}"
    assert [b.language for b in ko] == [b.language for b in en]
    for a, b in zip(en, ko, strict=True):
        assert compared(b) == compared(a), (
            f"the {a.language} block of operations.md line {a.line} and operations.ko.md line {b.line}"
            " differ (only the comments of shell blocks may)"
        )


@pytest.mark.unit
def test_the_comparison_ignores_the_english_runbooks_shell_comments_and_nothing_else() -> None:
    shells = [b for b in page(RUNBOOK).blocks if b.language in SHELLS]
    # So the block test compares commands, not comments: several blocks carry comments.
    assert sum(compared(b) != b.text for b in shells) >= 5
    for block in shells:
        # Removing comments never touches a line that has none.
        for line in block.text.split("\n"):
            if "#" not in line:
                assert line in compared(block).split("\n")


@pytest.mark.unit
@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("# a comment\nk get hpa", "k get hpa"),
        ("k get kafkatopics          # 18 topics", "k get kafkatopics"),
        ("  # indented\n  k scale deploy/x --replicas=0   # no members", "  k scale deploy/x --replicas=0"),
        ("echo '# not a comment' \"# nor this\"  # but this", "echo '# not a comment' \"# nor this\""),
        ("curl http://h/docs#frag ${#x} a#b $#", "curl http://h/docs#frag ${#x} a#b $#"),
        ('echo "it\\"s # quoted" # tail', 'echo "it\\"s # quoted"'),
        (
            "cat <<'EOF' | k apply -f -\n# data, kept\nEOF\n# gone",
            "cat <<'EOF' | k apply -f -\n# data, kept\nEOF",
        ),
        ("a\n\nb", "a\n\nb"),
    ],
)
def test_a_shell_comment_is_what_begins_a_word_with_hash_outside_quotes_and_here_documents(
    script: str, expected: str
) -> None:
    assert commands(script) == expected


@pytest.mark.unit
def test_the_korean_runbook_names_every_setting_of_the_english_one() -> None:
    english = {s for span in code_spans(RUNBOOK) for s in SETTING.findall(span)}
    korean = {s for span in code_spans(RUNBOOK_KO) for s in SETTING.findall(span)}
    assert {"JWT_AUDIENCE", "CONSUMER_MAX_RETRIES", "DB_POOL_MAX"} <= english
    assert english - korean == set()


@pytest.mark.unit
def test_the_korean_runbook_keeps_every_inline_command_name_and_path_of_the_english_one() -> None:
    # Metric and alert names, commands, paths and log lines are quoted in `…` and never translated.
    assert sorted(code_spans(RUNBOOK) - code_spans(RUNBOOK_KO)) == []


@pytest.mark.unit
@RUNBOOKS
def test_the_runbooks_links_lead_to_files_and_headings_that_exist(runbook: Path) -> None:
    links = [m.group(1) for m in LINK.finditer(page(runbook).prose)]
    assert links
    for link in links:
        if re.match(r"[a-z][a-z0-9+.-]*:", link):  # https:, mailto:
            continue
        path, _, anchor = link.partition("#")
        target = (runbook.parent / unquote(path)).resolve() if path else runbook
        assert target.exists(), f"{runbook.name}: {link} leads to no file"
        if anchor:
            assert target.suffix == ".md", link
            assert unquote(anchor) in anchors(target), (
                f"{runbook.name}: {link} names no heading of {target.name}"
            )


@pytest.mark.unit
def test_each_runbook_points_at_the_other() -> None:
    assert "operations.ko.md" in [m.group(1) for m in LINK.finditer(page(RUNBOOK).prose)]
    assert "operations.md" in [m.group(1) for m in LINK.finditer(page(RUNBOOK_KO).prose)]
