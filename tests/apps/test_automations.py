"""The Automations page per role: everyone sees the org's rules and incidents (never another org's) and may test a
rule over the last N days; only an Admin saves (with the CLI's messages for a bad rule), enables and disables; an
Admin or a User acknowledges, resolves and comments on an incident; a Viewer only reads."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from aioa.identity import accounts
from aioa.rules.engine import evaluate_all
from aioa.rules.incidents import list_incidents
from aioa.rules.store import list_rules, save_rule
from aioa.settings import PROJECT_ROOT, Settings
from tests.apps.conftest import signed_in
from tests.rules.sample_snapshot import anomaly, write_snapshot

APP = str(PROJECT_ROOT / "apps" / "dashboard" / "streamlit_app.py")
PAGE = "app_pages/automations.py"
PASSWORD = "correct horse battery"
RUNAWAY = """\
name: runaway
trigger:
  kind: anomaly_detected
  anomaly_kinds: [runaway_agent]
  since_days: 30
condition: "ratio >= 3.0"
actions:
  - type: notify
    channels: ["json://127.0.0.1:9/never"]
"""


@pytest.fixture
def home(tmp_path, monkeypatch) -> Settings:
    monkeypatch.setenv("AIOA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AIOA_AUTH", "on")
    monkeypatch.setenv("AIOA_DATABASE_URL", f"sqlite:///{tmp_path / 'identity.db'}")
    settings = Settings()
    write_snapshot(settings, [anomaly("acme", index) for index in range(3)] + [anomaly("globex", 0)])
    for email, role, org in (
        ("boss@acme.example", "admin", "acme"),
        ("alice@acme.example", "user", "acme"),
        ("amara@acme.example", "viewer", "acme"),
    ):
        accounts.create_user(settings, email, org_id=org, role=role, team_id="acme-web", password=PASSWORD)
    import yaml

    save_rule(settings, "acme", yaml.safe_load(RUNAWAY))
    save_rule(settings, "globex", yaml.safe_load(RUNAWAY.replace("name: runaway", "name: globex-secret-rule")))
    evaluate_all(settings, "acme")  # one open incident for acme
    return settings


def _open(email: str) -> AppTest:
    app = signed_in(AppTest.from_file(APP, default_timeout=60), email, PASSWORD)
    app.switch_page(PAGE).run()
    assert not app.exception, [item.value for item in app.exception]
    assert app.title[0].value == "Automations"
    return app


def _table(app: AppTest, column: str):
    """The first table on the page with this column (rules: name, backtest: day, incidents: rule)."""
    return next(frame.value for frame in app.dataframe if column in frame.value.columns)


def _keys(app: AppTest, kind: str) -> set[str]:
    return {widget.key for widget in getattr(app, kind)}


def test_admin_tests_edits_saves_disables_and_acts_on_incidents(home):
    app = _open("boss@acme.example")
    rules = _table(app, "trigger")
    assert list(rules["name"]) == ["runaway"]  # never globex's rule

    # test this rule: the backtest over the sample's days, nothing sent
    app.button(key="rule_runaway_test").click().run()
    fired = _table(app, "day")
    assert list(fired["day"]) == ["2026-11-18"] and list(fired["matches"]) == [3]

    # a bad condition is refused with the CLI's message; a valid template is saved
    app.text_area(key="new_yaml").input(
        RUNAWAY.replace("ratio >= 3.0", "ratios >= 3.0").replace("name: runaway", "name: new")
    )
    app.button(key="new_save").click().run()
    assert any("ratios" in error.value and "This rule is not valid" in error.value for error in app.error), [
        (item.value) for item in [*app.error, *app.success, *app.info, *app.warning]
    ]
    app.selectbox(key="template_pick").select("MCP server down").run()
    app.button(key="new_save").click().run()
    assert any("Saved rule mcp-down" in item.value for item in app.success)
    assert {rule.name for rule in list_rules(home, "acme")} == {"runaway", "mcp-down"}

    app.selectbox(key="rule_pick").select("runaway").run()
    app.button(key="rule_toggle").click().run()
    assert not next(rule for rule in list_rules(home, "acme") if rule.name == "runaway").enabled

    app.button(key="incident_ack").click().run()
    assert [incident.status for incident in list_incidents(home, "acme")] == ["acknowledged"]
    assert list_incidents(home, "acme")[0].acknowledged_by.endswith("<boss@acme.example>")


def test_user_acts_on_incidents_and_comments_but_cannot_edit_rules(home):
    app = _open("alice@acme.example")
    assert "new_save" not in _keys(app, "button") and "rule_toggle" not in _keys(app, "button")
    assert app.text_area(key="new_yaml").disabled
    app.text_area(key="incident_comment_body").input("Bob's agent loops on the billing tests.")
    next(button for button in app.button if button.label == "Comment").click().run()
    assert any("Bob's agent loops" in text.value for text in app.markdown)
    app.button(key="incident_resolve").click().run()
    assert [incident.status for incident in list_incidents(home, "acme")] == ["resolved"]


def test_viewer_only_reads(home):
    app = _open("amara@acme.example")
    buttons = _keys(app, "button")
    assert not buttons & {"new_save", "rule_toggle", "incident_ack", "incident_resolve"}
    assert "incident_comment_body" not in _keys(app, "text_area")
    assert list(_table(app, "severity")["rule"]) == ["runaway"]
    app.button(key="new_test").click().run()  # a viewer may still test a template on the data
    assert not app.exception


def test_the_local_operator_picks_the_org(tmp_path, monkeypatch):
    import yaml

    monkeypatch.setenv("AIOA_HOME", str(tmp_path / "home"))  # no snapshot at all: the page needs none
    settings = Settings()
    save_rule(settings, "acme", yaml.safe_load(RUNAWAY))
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    app.switch_page(PAGE).run()
    assert not app.exception, [item.value for item in app.exception]
    assert app.selectbox(key="automations_org").options == ["acme", "default"]
    app.selectbox(key="automations_org").select("acme").run()
    assert list(_table(app, "trigger")["name"]) == ["runaway"]
    app.button(key="rule_runaway_test").click().run()
    assert any("No data to test on yet" in item.value for item in app.info)
