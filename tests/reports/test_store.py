"""Report templates saved per org and team: a team sees the org's and its own, a built-in name cannot be taken, and
a template that asks a section for a metric it cannot show is refused with the choices."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from aioa.reports.render.store import delete_template, find_template, save_template, saved_templates
from aioa.reports.render.templates import BUILTIN, ReportTemplate, Section


def _template(name: str, title: str) -> ReportTemplate:
    return ReportTemplate(name=name, title=title, sections=[Section(kind="kpis", metrics=["spend", "calls"])])


def test_templates_are_saved_per_org_and_team(settings):
    save_template(settings, "acme", _template("cost-review", "Org review"))
    save_template(settings, "acme", _template("cost-review", "Red's review"), team_id="red")
    save_template(settings, "acme", _template("red-only", "Red only"), team_id="red")
    assert find_template(settings, "cost-review", "acme", team_id="red").title == "Red's review"
    assert find_template(settings, "cost-review", "acme", team_id="blue").title == "Org review"
    assert [template.name for template in saved_templates(settings, "acme", team_id="blue")] == ["cost-review"]
    with pytest.raises(KeyError, match="no report template 'red-only'"):
        find_template(settings, "red-only", "acme", team_id="blue")
    with pytest.raises(KeyError):
        find_template(settings, "cost-review", "globex")  # another org's templates are not found
    assert find_template(settings, "budget", "globex") == BUILTIN["budget"]
    assert delete_template(settings, "acme", "red-only", team_id="red")
    assert [template.name for template in saved_templates(settings, "acme", team_id="red")] == ["cost-review"]


def test_a_builtin_name_cannot_be_taken(settings):
    with pytest.raises(ValueError, match="built-in"):
        save_template(settings, "acme", _template("budget", "Mine"))


def test_sections_accept_only_the_metrics_their_queries_return():
    with pytest.raises(ValidationError, match="a trend section cannot show error_rate: it shows spend, tokens, calls"):
        Section(kind="trend", metrics=["error_rate"])
    with pytest.raises(ValidationError, match="unknown metric"):
        Section(kind="kpis", metrics=["happiness"])
    with pytest.raises(ValidationError, match="needs `by`"):
        Section(kind="breakdown")


def test_the_cli_lists_builtin_and_saved_templates(settings):
    import json
    import os
    import subprocess
    import sys

    save_template(settings, "acme", _template("cost-review", "Org review"))
    done = subprocess.run(
        [sys.executable, "-m", "aioa.cli", "report", "templates", "--json", "--org", "acme"],
        env=os.environ | {"AIOA_HOME": str(settings.home)},
        capture_output=True,
        text=True,
        check=True,
    )
    listed = {row["name"]: row for row in json.loads(done.stdout)}
    assert set(listed) == {*BUILTIN, "cost-review"}
    assert listed["cost-review"]["saved"] and listed["cost-review"]["sections"] == ["Headline numbers"]
