"""The partner guide's "Bulk export" examples, run against the gateway: each request answers as shown."""

from __future__ import annotations

import json
import re
import shlex

from gateway.http.export_entities import ENTITIES

from .conftest import Partner
from .test_partner_guide import FENCE, GUIDE


def _section() -> str:
    text = GUIDE.read_text(encoding="utf-8")
    start = text.index("\n## Bulk export")
    end = text.find("\n## ", start + 1)
    return text[start:end]


def _request(command: str) -> tuple[str, str | None]:
    """The export path a curl command asks for, and the text it keeps (`| grep '…'`), if any."""
    words = shlex.split(command.replace("\\\n", " "), posix=True)
    assert words[0] == "curl", command
    (url,) = [w for w in words if w.startswith("$GATEWAY/")]
    assert words[words.index("-H") : words.index("-H") + 2] == ["-H", "X-API-Key: $MPE_KEY"], command
    kept = words[words.index("grep") + 1] if "grep" in words else None
    return url.removeprefix("$GATEWAY"), kept


async def test_the_export_examples_answer_as_the_guide_shows(partner: Partner) -> None:
    fences = list(FENCE.finditer(_section()))
    commands = [m for m in fences if m.group(1) == "sh"]
    assert len(commands) >= 2
    shown_lines = 0
    for m in commands:
        path, kept = _request(m.group(2))
        r = await partner.client.get(path)
        assert r.status_code == 200, (path, r.text)
        assert r.headers["content-type"] == "application/x-ndjson"
        assert r.content.endswith(b"\n")
        answer = r.content.decode().splitlines()
        following = next((f for f in fences if f.start() > m.end()), None)
        if kept is None:
            continue
        assert following is not None, m.group(2)
        assert following.group(1) == "ndjson"
        shown = [json.loads(line) for line in following.group(2).splitlines()]
        got = [json.loads(line) for line in answer if kept in line]
        assert got == shown, json.dumps(got, ensure_ascii=False)
        shown_lines += len(shown)
    assert shown_lines >= 1


async def test_the_export_table_lists_every_export_with_its_scope(partner: Partner) -> None:
    section = _section()
    rows = re.findall(r"^\| `/export/(\w+)\.ndjson` \| `([a-z:]+)` \|", section, re.MULTILINE)
    assert sorted(rows) == sorted((e.name, e.scope) for e in ENTITIES.values())
    for name, _ in rows:
        assert (await partner.client.get(f"/export/{name}.ndjson")).status_code == 200
