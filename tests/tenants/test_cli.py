"""`aioa tenant settings set|show`: a YAML of changes is validated, stored and audited as the operator; a bad one
changes nothing and says which field is wrong."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from aioa.cli import app
from aioa.identity import audit
from aioa.settings import Settings


@pytest.fixture
def home(settings: Settings) -> Settings:
    settings.home.mkdir(parents=True, exist_ok=True)
    attribution = {"orgs": [{"id": "acme", "name": "Acme Corp", "monthly_budget_usd": 1500}]}
    (settings.home / "attribution.yaml").write_text(yaml.safe_dump(attribution))
    return settings


def test_set_then_show(home, tmp_path):
    changes = tmp_path / "acme.yaml"
    changes.write_text(
        "monthly_budget_usd: 1800\n"
        "branding:\n  primary_color: '#0A0'\n  logo: https://cdn.acme.test/logo.svg\n"
        "quotas:\n  ingest_rows_per_day_per_tenant: 50000\n"
    )
    runner = CliRunner()
    done = runner.invoke(app, ["tenant", "settings", "set", "--org", "acme", "--file", str(changes)])
    assert done.exit_code == 0, done.output
    shown = runner.invoke(app, ["tenant", "settings", "show", "--org", "acme", "--json"])
    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.stdout)
    assert document["monthly_budget_usd"] == "1800"
    assert document["branding"] == {
        "display_name": "Acme Corp",
        "logo": "https://cdn.acme.test/logo.svg",
        "primary_color": "#00aa00",
        "accent_color": None,
    }
    assert document["quotas"]["ingest_rows_per_day_per_tenant"] == 50000
    assert document["quotas"]["api_requests_per_minute_per_key"] == 600
    [entry] = [e for e in audit.export(home, org_id="acme") if e["action"] == "settings.update"]
    assert entry["actor"] == "operator" and entry["detail"]["monthly_budget_usd"] == {"before": "1500", "after": "1800"}
    readable = runner.invoke(app, ["tenant", "settings", "show", "--org", "acme"])
    assert readable.exit_code == 0 and "primary_color: '#00aa00'" in readable.stdout


def test_a_bad_file_changes_nothing_and_names_the_fields(home, tmp_path):
    changes = tmp_path / "bad.yaml"
    changes.write_text("branding:\n  primary_color: blue\nbudget: 3\n")
    done = CliRunner().invoke(app, ["tenant", "settings", "set", "--org", "acme", "--file", str(changes)])
    assert done.exit_code == 2
    assert "branding.primary_color: must be a hex colour" in done.output
    assert "budget: is not a setting" in done.output
    shown = CliRunner().invoke(app, ["tenant", "settings", "show", "--org", "acme", "--json"])
    assert json.loads(shown.stdout)["branding"]["primary_color"] is None
    not_a_mapping = tmp_path / "list.yaml"
    not_a_mapping.write_text("- 1\n- 2\n")
    done = CliRunner().invoke(app, ["tenant", "settings", "set", "--org", "acme", "--file", str(not_a_mapping)])
    assert done.exit_code == 2 and "must be a mapping" in done.output
