"""The PrometheusRule's alerts pass promtool's lint and their unit tests (Debian's prometheus
package provides promtool; deploy/k8s/tools.sh installs it)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
RULE = ROOT / "deploy" / "k8s" / "base" / "platform" / "alerts.yaml"
TESTS = ROOT / "deploy" / "k8s" / "alerts-tests" / "alerts_test.yaml"


def _promtool() -> str:
    path = shutil.which("promtool")
    assert path is not None, "promtool is missing: run `bash deploy/k8s/tools.sh` (make bootstrap does)"
    return path


def _rules_dir(tmp_path: Path) -> Path:
    """The PrometheusRule's spec as a plain rule file, beside a copy of the unit tests."""
    rule = yaml.safe_load(RULE.read_text())
    assert rule["kind"] == "PrometheusRule"
    (tmp_path / "alerts.rules.yaml").write_text(yaml.safe_dump(rule["spec"]))
    shutil.copy(TESTS, tmp_path / TESTS.name)
    return tmp_path


def test_rules_lint_clean(tmp_path: Path) -> None:
    d = _rules_dir(tmp_path)
    done = subprocess.run(
        [_promtool(), "check", "rules", "alerts.rules.yaml"],
        cwd=d,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 6 rules found" in done.stdout


def test_rules_unit_tests_pass(tmp_path: Path) -> None:
    d = _rules_dir(tmp_path)
    done = subprocess.run(
        [_promtool(), "test", "rules", TESTS.name], cwd=d, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_every_alert_has_a_runbook_section() -> None:
    """Each alert links to a heading of docs/operations.md that exists."""
    ops = (ROOT / "docs" / "operations.md").read_text()
    anchors = {line.lstrip("#").strip().lower() for line in ops.splitlines() if line.startswith("### ")}
    for group in yaml.safe_load(RULE.read_text())["spec"]["groups"]:
        for rule in group["rules"]:
            assert rule["annotations"]["runbook_url"] == f"docs/operations.md#{rule['alert'].lower()}"
            assert rule["alert"].lower() in anchors, rule["alert"]
