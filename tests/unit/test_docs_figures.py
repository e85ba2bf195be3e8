"""Figures the docs give about the template, against the template itself: a change to one without the
other fails here (the README's at-rest cost counts the alarms; docs/deployment.md lists them)."""

from __future__ import annotations

import re
from pathlib import Path

from infra import template

ROOT = Path(__file__).resolve().parents[2]
WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


def _alarms() -> dict[str, dict]:
    resources = template.build_for_stage("prod")["Resources"]
    return {k: v for k, v in resources.items() if v.get("Type") == "AWS::CloudWatch::Alarm"}


def test_the_docs_count_the_templates_alarms():
    count = WORDS[len(_alarms())]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    deployment = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    assert re.search(rf"\b{count} CloudWatch\s+alarms\s+\(USD 0\.{len(_alarms())}0", readme)
    assert re.search(rf"\*\*Alarms\*\*, {count},", deployment)


def test_every_metric_alarmed_on_is_named_in_the_docs_and_emitted_by_the_code():
    deployment = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    code = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "chalicelib").rglob("*.py"))
    ours = {
        alarm["Properties"]["MetricName"]
        for alarm in _alarms().values()
        if not str(alarm["Properties"]["Namespace"]).startswith("AWS/")
    }
    assert ours
    for metric in ours:
        assert f"`{metric}`" in deployment, metric
        assert f'add_metric(name="{metric}"' in code, metric
    assert "Nothing emits" not in deployment
