"""`aioa rules …` and `aioa webhooks …`: rules and endpoints of one org (`--org`, default AIOA_DEFAULT_ORG) from the
operator's shell. Only typer and rich load with the CLI; the store, CEL and HTTP clients load inside a command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Column, Table

from aioa.reports.output import print_rich_table

rules_app = typer.Typer(help="Rules that act: alerts and automations (docs/automation.md).", no_args_is_help=True)
webhooks_app = typer.Typer(
    help="Signed webhooks out (Standard Webhooks): endpoints, tests, replay.", no_args_is_help=True
)

console = Console(stderr=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
OrgOption = Annotated[str | None, typer.Option("--org", help="The org (tenant); default AIOA_DEFAULT_ORG.")]


def _settings():
    from aioa.settings import get_settings

    return get_settings()


def _org(settings, org: str | None) -> str:
    return org or settings.default_org


def _print_json(payload) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str))


def _fail(message: str, code: int = 2) -> typer.Exit:
    console.print(f"[red]{message}[/red]")
    return typer.Exit(code)


def _load(path: Path):
    from aioa.rules.spec import RuleError, load_rule_file

    if not path.exists():
        raise _fail(f"{path} does not exist.")
    try:
        return load_rule_file(path)
    except RuleError as error:
        raise _fail(f"{path} is not a valid rule:\n  " + "\n  ".join(error.problems)) from None


# --- rules ----------------------------------------------------------------------------------------------------------


@rules_app.command("add")
def rules_add(
    file: Annotated[Path, typer.Argument(help="A rule in YAML (docs/automation.md).")],
    org: OrgOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Validate and save a rule (a rule of the same name is replaced)."""
    from aioa.rules.spec import RuleError
    from aioa.rules.store import save_rule

    settings = _settings()
    rule = _load(file)
    try:
        stored = save_rule(settings, _org(settings, org), rule)
    except RuleError as error:
        raise _fail(f"{file} cannot be saved:\n  " + "\n  ".join(error.problems)) from None
    if as_json:
        _print_json(stored.to_dict())
    else:
        state = "enabled" if stored.enabled else "disabled"
        console.print(f"Saved rule {stored.name} ({stored.rule.trigger.kind}, {state}) for org {stored.org_id}.")


@rules_app.command("list")
def rules_list(org: OrgOption = None, as_json: JsonFlag = False) -> None:
    """The org's rules."""
    from aioa.rules.store import list_rules

    settings = _settings()
    rules = list_rules(settings, _org(settings, org))
    if as_json:
        _print_json([rule.to_dict() for rule in rules])
        return
    table = Table("name", "trigger", "actions", "enabled", "updated")
    for rule in rules:
        table.add_row(
            rule.name,
            rule.rule.trigger.kind,
            ", ".join(action.type for action in rule.rule.actions),
            "yes" if rule.enabled else "no",
            f"{rule.updated_at:%Y-%m-%d %H:%M}",
        )
    print_rich_table(table)


def _set_enabled(name: str, org: str | None, enabled: bool) -> None:
    from aioa.rules.store import set_enabled

    settings = _settings()
    try:
        set_enabled(settings, _org(settings, org), name, enabled)
    except LookupError as error:
        raise _fail(str(error.args[0])) from None
    console.print(f"Rule {name} {'enabled' if enabled else 'disabled'}.")


@rules_app.command("enable")
def rules_enable(name: Annotated[str, typer.Argument(help="The rule's name.")], org: OrgOption = None) -> None:
    """Enable a rule: it is evaluated from the next run on."""
    _set_enabled(name, org, True)


@rules_app.command("disable")
def rules_disable(name: Annotated[str, typer.Argument(help="The rule's name.")], org: OrgOption = None) -> None:
    """Disable a rule: it is no longer evaluated (its incidents stay)."""
    _set_enabled(name, org, False)


@rules_app.command("run")
def rules_run(
    org: Annotated[
        str | None, typer.Option("--org", help="Only this org's rules (default: every org's enabled rules).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Evaluate every enabled rule now against the current snapshot; each evaluation is recorded."""
    from aioa.rules.engine import evaluate_all

    results = evaluate_all(_settings(), org, source="cli")
    if as_json:
        _print_json([result.to_dict() for result in results])
    else:
        table = Table("org", "rule", "fired", "matches", "incidents", "error")
        for result in results:
            table.add_row(
                result.org_id,
                result.rule,
                "yes" if result.fired else "no",
                str(result.matches),
                ", ".join(result.incident_ids),
                result.error or "",
            )
        print_rich_table(table)
    if any(result.error for result in results):
        raise typer.Exit(1)


@rules_app.command("test")
def rules_test(
    file: Annotated[Path, typer.Argument(help="A rule in YAML (not saved).")],
    days: Annotated[int, typer.Option("--days", min=1, max=366, help="Replay the data's last N days.")] = 30,
    org: OrgOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Backtest: the days on which the rule would have fired and the incidents it would have opened; sends nothing."""
    from aioa.rules.engine import backtest

    settings = _settings()
    rule = _load(file)
    fired = backtest(settings, _org(settings, org), rule, days)
    if as_json:
        _print_json(fired)
        return
    if not fired:
        console.print(f"{rule.name} would not have fired in the last {days} days.")
        return
    table = Table("day", "incidents", "groups")
    for entry in fired:
        groups = "; ".join(
            ", ".join(f"{k}={v}" for k, v in incident["group"].items()) or "(all)" for incident in entry["incidents"]
        )
        table.add_row(entry["day"], str(len(entry["incidents"])), groups)
    print_rich_table(table)


@rules_app.command("incidents")
def rules_incidents(
    org: OrgOption = None,
    status: Annotated[str | None, typer.Option(help="open, acknowledged or resolved.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """The org's incidents, newest first."""
    from aioa.rules.incidents import incident_data, list_incidents

    settings = _settings()
    incidents = [incident_data(row) for row in list_incidents(settings, _org(settings, org), status=status)]
    if as_json:
        _print_json(incidents)
        return
    table = Table("rule", "status", "group", "matches", "opened")
    table.columns.insert(0, Column("id", no_wrap=True))  # what `aioa rules ack|resolve` takes: never cut
    for item in incidents:
        group = ", ".join(f"{k}={v}" for k, v in item["group"].items())
        table.add_row(item["id"], item["rule"], item["status"], group, str(item["matches"]), item["opened_at"][:16])
    print_rich_table(table)


def _change_incident(incident_id: str, org: str | None, action: str) -> None:
    from aioa.rules.incidents import acknowledge, resolve

    settings = _settings()
    try:
        row = (acknowledge if action == "acknowledge" else resolve)(settings, _org(settings, org), incident_id)
    except LookupError as error:
        raise _fail(str(error.args[0])) from None
    console.print(f"Incident {row.id} is {row.status}.")


@rules_app.command("ack")
def rules_ack(incident_id: Annotated[str, typer.Argument(help="The incident's id.")], org: OrgOption = None) -> None:
    """Acknowledge an incident: no repeats or escalation."""
    _change_incident(incident_id, org, "acknowledge")


@rules_app.command("resolve")
def rules_resolve(
    incident_id: Annotated[str, typer.Argument(help="The incident's id.")], org: OrgOption = None
) -> None:
    """Resolve an incident: what it found never opens another."""
    _change_incident(incident_id, org, "resolve")


@rules_app.command("silence")
def rules_silence(
    duration: Annotated[str, typer.Option("--for", help="How long, e.g. 2h or 1d.")],
    rule: Annotated[str | None, typer.Option("--rule", help="Only this rule (default: every rule).")] = None,
    match: Annotated[list[str] | None, typer.Option("--match", help="group field=value (repeatable).")] = None,
    reason: Annotated[str | None, typer.Option(help="Why (shown in listings).")] = None,
    org: OrgOption = None,
) -> None:
    """Silence notifications of matching incidents for a while (incidents are still recorded)."""
    from aioa.rules.incidents import add_silence
    from aioa.rules.spec import parse_duration

    settings = _settings()
    try:
        length = parse_duration(duration)
        matchers = dict(item.split("=", 1) for item in match or ())
    except ValueError as error:
        raise _fail(f"{error}; --match takes field=value") from None
    silence = add_silence(
        settings, _org(settings, org), duration=length, rule_name=rule, matchers=matchers, reason=reason
    )
    console.print(f"Silence {silence.id} until {silence.ends_at:%Y-%m-%d %H:%M} UTC.")


# --- webhooks -------------------------------------------------------------------------------------------------------


@webhooks_app.command("add")
def webhooks_add(
    url: Annotated[str, typer.Argument(help="https:// URL (http:// only to 127.0.0.1/localhost).")],
    secret: Annotated[str, typer.Option("--secret", help="whsec_… (base64 of 24-64 random bytes).")],
    events: Annotated[str, typer.Option("--events", help="Comma-separated: incident.opened,incident.resolved,…")],
    org: OrgOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Register an endpoint for the org's events."""
    from aioa.webhooks.endpoints import add_endpoint

    settings = _settings()
    try:
        endpoint = add_endpoint(settings, org_id=_org(settings, org), url=url, secret=secret, events=events.split(","))
    except ValueError as error:
        raise _fail(str(error)) from None
    if as_json:
        _print_json(endpoint.to_dict())
    else:
        console.print(f"Endpoint {endpoint.id} → {endpoint.url} for {', '.join(endpoint.events)}.")


@webhooks_app.command("list")
def webhooks_list(org: OrgOption = None, as_json: JsonFlag = False) -> None:
    """The org's endpoints and their delivery counts."""
    from aioa.webhooks.delivery import deliveries
    from aioa.webhooks.endpoints import list_endpoints

    settings = _settings()
    org_id = _org(settings, org)
    sent = deliveries(settings, org_id)
    rows = []
    for endpoint in list_endpoints(settings, org_id):
        counts = {status: 0 for status in ("pending", "delivered", "dead")}
        for item in sent:
            if item.endpoint_id == endpoint.id:
                counts[item.status] += 1
        rows.append(endpoint.to_dict() | {"deliveries": counts})
    if as_json:
        _print_json(rows)
        return
    table = Table("id", "url", "events", "delivered", "pending", "dead")
    for row in rows:
        counts = row["deliveries"]
        table.add_row(
            row["id"], row["url"], ",".join(row["events"]), *(str(counts[k]) for k in ("delivered", "pending", "dead"))
        )
    print_rich_table(table)


@webhooks_app.command("test")
def webhooks_test(
    endpoint_id: Annotated[str, typer.Argument(help="The endpoint's id (from `aioa webhooks list`).")],
    org: OrgOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Send one signed `webhook.test` event now (one attempt; retries follow the usual schedule)."""
    import secrets as random_ids

    from aioa.webhooks.delivery import attempt, enqueue
    from aioa.webhooks.endpoints import TEST_EVENT, endpoint_row

    settings = _settings()
    org_id = _org(settings, org)
    try:
        endpoint = endpoint_row(settings, org_id, endpoint_id)
    except LookupError as error:
        raise _fail(str(error.args[0])) from None
    (delivery_id,) = enqueue(
        settings,
        org_id=org_id,
        event_type=TEST_EVENT,
        data={"endpoint": endpoint_id, "message": "aioa webhook test"},
        idempotency_key="test-" + random_ids.token_hex(8),
        endpoints=[endpoint],
    )
    info = attempt(settings, delivery_id)
    if as_json:
        _print_json(info.to_dict())
    elif info.status == "delivered":
        console.print(f"Delivered {info.id} (HTTP {info.last_status_code}).")
    else:
        console.print(f"[yellow]Not delivered yet[/yellow] ({info.last_error}); retried at {info.next_attempt_at}.")
    if info.status != "delivered":
        raise typer.Exit(1)


@webhooks_app.command("replay")
def webhooks_replay(
    delivery_ids: Annotated[list[str] | None, typer.Argument(help="Dead deliveries to send (default: all).")] = None,
    org: OrgOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Send the dead-letter list again (one attempt each now)."""
    from aioa.webhooks.delivery import replay

    settings = _settings()
    results = replay(settings, _org(settings, org), delivery_ids or None)
    if as_json:
        _print_json([item.to_dict() for item in results])
        return
    delivered = sum(item.status == "delivered" for item in results)
    console.print(
        f"Replayed {len(results)} dead deliveries: {delivered} delivered, {len(results) - delivered} retrying."
    )


@webhooks_app.command("deliver")
def webhooks_deliver(
    wait: Annotated[float, typer.Option(help="Keep retrying for up to this many seconds.")] = 0.0,
    as_json: JsonFlag = False,
) -> None:
    """Attempt every delivery that is due (the Dagster schedule does this each tick)."""
    from aioa.webhooks.delivery import process_due

    results = process_due(_settings(), wait_up_to_s=wait)
    if as_json:
        _print_json([item.to_dict() for item in results])
    else:
        console.print(f"Attempted {len(results)} deliveries.")


@webhooks_app.command("log")
def webhooks_log(
    endpoint_id: Annotated[str, typer.Argument(help="The endpoint's id.")],
    org: OrgOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Every delivery attempt to one endpoint."""
    from aioa.webhooks.delivery import delivery_log

    settings = _settings()
    try:
        rows = delivery_log(settings, _org(settings, org), endpoint_id)
    except LookupError as error:
        raise _fail(str(error.args[0])) from None
    if as_json:
        _print_json(rows)
        return
    table = Table("at", "delivery", "status", "error", "seconds")
    for row in rows:
        table.add_row(
            row["at"][:19], row["delivery_id"], str(row["status_code"] or ""), row["error"] or "", str(row["seconds"])
        )
    print_rich_table(table)


@webhooks_app.command("rotate")
def webhooks_rotate(
    endpoint_id: Annotated[str, typer.Argument(help="The endpoint's id.")],
    secret: Annotated[str, typer.Option("--secret", help="The new whsec_… secret.")],
    org: OrgOption = None,
) -> None:
    """Rotate the signing secret: both secrets sign for 24 hours, then only the new one."""
    from aioa.webhooks.endpoints import rotate_secret

    settings = _settings()
    try:
        info = rotate_secret(settings, _org(settings, org), endpoint_id, secret)
    except (LookupError, ValueError) as error:
        raise _fail(str(error)) from None
    console.print(f"Endpoint {info.id}: new secret active; the old one also signs until {info.rotating_until}.")
