"""Rules are validated when saved: every example of docs/automation.md loads, and a bad expression, an unknown
action, a disallowed URL, a claimed org or a reference to another org's key or endpoint is refused with a message
that says what is wrong."""

from __future__ import annotations

import re

import pytest
import yaml
from typer.testing import CliRunner

from aioa.rules.spec import ACTION_MODELS, TRIGGER_KINDS, RuleError, parse_rule
from aioa.settings import PROJECT_ROOT, Settings

DOC = PROJECT_ROOT / "docs" / "automation.md"


def doc_examples() -> list[dict]:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), flags=re.S)
    return [yaml.safe_load(block) for block in blocks]


def test_every_example_in_the_doc_is_a_valid_rule_and_every_kind_has_one():
    rules = [parse_rule(example) for example in doc_examples()]
    assert {rule.trigger.kind for rule in rules} == set(TRIGGER_KINDS)
    assert {action.type for rule in rules for action in rule.actions} == set(ACTION_MODELS)


def _rule(**changes) -> dict:
    rule = {
        "name": "spend-spike",
        "trigger": {"kind": "metric_threshold", "metric": "spend", "group_by": ["project"]},
        "condition": "ratio >= 3.0",
        "actions": [{"type": "notify", "email": ["ops@acme.example"]}],
    }
    return rule | changes


def _problems(document: dict) -> str:
    with pytest.raises(RuleError) as caught:
        parse_rule(document)
    return "\n".join(caught.value.problems)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("ratio >= ", "is not valid CEL at character"),
        ("ratio >= 3.0 &&", "is not valid CEL"),
        ("spend_ratio > 3.0", "names 'spend_ratio', which this trigger does not provide; it provides: baseline"),
        ("value > 3 * baseline", "numbers are doubles: write 3.0, not 3"),
        ("value + 1.0", "must be true or false"),
        ("__import__('os').system('true')", "which this trigger does not provide"),
    ],
)
def test_a_bad_expression_is_refused_with_a_clear_message(condition, expected):
    assert expected in _problems(_rule(condition=condition))


def test_an_unknown_action_or_trigger_is_named():
    problems = _problems(_rule(actions=[{"type": "send_fax", "number": "1"}]))
    assert "actions[0]: unknown action 'send_fax': choose one of notify, webhook, pause_api_key" in problems
    assert "unknown kind 'tea_time'" in _problems(_rule(trigger={"kind": "tea_time"}))
    assert "unknown metric 'happiness'" in _problems(_rule(trigger={"kind": "metric_threshold", "metric": "happiness"}))
    assert "cannot group by colour" in _problems(
        _rule(trigger={"kind": "metric_threshold", "metric": "spend", "group_by": ["colour"]})
    )


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ({"type": "webhook", "url": "http://hooks.example.com/x"}, "plain http is accepted only for loopback"),
        ({"type": "webhook", "url": "ftp://hooks.example.com/x"}, "is not allowed: use https://"),
        ({"type": "notify", "channels": ["json://hooks.example.com/x"]}, "json:// sends in the clear"),
        ({"type": "notify", "channels": ["nonsense://x"]}, "not an apprise URL"),
        ({"type": "notify", "email": ["not-an-address"]}, "is not an email address"),
    ],
)
def test_urls_outside_the_allowed_schemes_are_refused_when_saved(action, expected):
    problems = _problems(_rule(actions=[action]))
    assert problems.startswith("actions[0]") and expected in problems


def test_the_rule_file_cannot_claim_an_org_or_a_bad_schedule():
    assert "org_id: Extra inputs are not permitted" in _problems(_rule(org_id="globex"))
    assert "needs 5 fields" in _problems(_rule(trigger={"kind": "schedule", "cron": "0 9 * *"}, condition="true"))
    assert "unknown time zone" in _problems(
        _rule(trigger={"kind": "schedule", "cron": "0 9 * * 1", "timezone": "Mars/Olympus"}, condition="true")
    )


def test_references_must_belong_to_the_savers_org(settings: Settings):
    from aioa.identity.api_keys import create_key
    from aioa.rules.store import list_rules, save_rule
    from aioa.webhooks.endpoints import add_endpoint, new_secret

    globex_key, _ = create_key(settings, org_id="globex", scopes=["read"])
    add_endpoint(settings, org_id="globex", url="https://hooks.globex.example/x", secret=new_secret(), events=["*"])
    for action, expected in (
        ({"type": "pause_api_key", "key_id": globex_key.id}, f"no API key {globex_key.id} in org acme"),
        ({"type": "webhook", "url": "https://hooks.globex.example/x"}, "register it first with `aioa webhooks add"),
    ):
        with pytest.raises(RuleError) as caught:
            save_rule(settings, "acme", _rule(actions=[action]))
        assert expected in caught.value.problems[0]
    assert list_rules(settings, "acme") == []
    save_rule(settings, "globex", _rule(actions=[{"type": "pause_api_key", "key_id": globex_key.id}]))
    assert [rule.org_id for rule in list_rules(settings, None)] == ["globex"]


def test_cli_add_list_disable_and_refusal(settings: Settings, tmp_path):
    from aioa.cli import app

    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(yaml.safe_dump(_rule()))
    bad.write_text(yaml.safe_dump(_rule(condition="ratio >=", actions=[{"type": "teleport"}])))
    runner = CliRunner()
    refused = runner.invoke(app, ["rules", "add", str(bad), "--org", "acme"])
    assert refused.exit_code == 2 and "unknown action 'teleport'" in refused.output
    assert runner.invoke(app, ["rules", "add", str(good), "--org", "acme"]).exit_code == 0
    assert runner.invoke(app, ["rules", "disable", "spend-spike", "--org", "acme"]).exit_code == 0
    listed = runner.invoke(app, ["rules", "list", "--org", "acme", "--json"])
    assert [(rule["name"], rule["enabled"]) for rule in yaml.safe_load(listed.stdout)] == [("spend-spike", False)]
    assert yaml.safe_load(runner.invoke(app, ["rules", "list", "--org", "globex", "--json"]).stdout) == []
    missing = runner.invoke(app, ["rules", "enable", "nope", "--org", "acme"])
    assert missing.exit_code == 2 and "no rule named 'nope'" in missing.output
