"""Automations: the org's rules (list, create from a template, edit the YAML, test over the last N days, enable or
disable) and their incidents (acknowledge, resolve, comment). Everyone with `rules:read` sees them and may test a
rule; editing needs `rules:write` (Admin), acting on incidents `incidents:act`. Rules and incidents live in the
identity store: this page needs no snapshot (only "test this rule" reads one)."""

import pandas as pd
import streamlit as st
import yaml
from signin import may, signed_in

from aioa.collab.store import add_annotation, annotations
from aioa.rules.engine import backtest
from aioa.rules.incidents import acknowledge, list_incidents, resolve
from aioa.rules.spec import RuleError, parse_rule_yaml
from aioa.rules.store import get_rule, list_rules, save_rule, set_enabled
from aioa.rules.templates import TEMPLATES
from aioa.settings import get_settings

settings = get_settings()
principal = signed_in()
can_edit = may(principal, "rules:write")
can_act = may(principal, "incidents:act")
can_comment = may(principal, "annotations:write")

st.title("Automations")
if principal.org_id is not None:
    org = principal.org_id
else:  # the local operator sees every org: pick one (the rule files name none)
    known = sorted({rule.org_id for rule in list_rules(settings, None)} | {settings.default_org})
    org = st.selectbox("Org", known, index=known.index(settings.default_org), key="automations_org")


def _problems(error: RuleError) -> str:
    """The same lines `aioa rules add` prints."""
    return "This rule is not valid:\n\n" + "\n".join(f"- {problem}" for problem in error.problems)


def _show_backtest(text: str, days: int) -> None:
    from aioa.warehouse.snapshots import NoSnapshotError, current_snapshot

    try:
        rule = parse_rule_yaml(text)
    except RuleError as error:
        st.error(_problems(error), icon=":material/error:")
        return
    try:
        current_snapshot(settings)
    except NoSnapshotError:
        st.info("No data to test on yet: run `make demo` or `uv run aioa run`, then test again.")
        return
    fired = backtest(settings, org, rule, days)
    if not fired:
        st.success(f"{rule.name} would not have fired in the data's last {days} days.")
        return
    rows = [
        {
            "day": entry["day"],
            "incidents": len(entry["incidents"]),
            "groups": "; ".join(
                ", ".join(f"{key}={value}" for key, value in incident["group"].items()) or "(all)"
                for incident in entry["incidents"]
            ),
            "matches": sum(incident["matches"] for incident in entry["incidents"]),
        }
        for entry in fired
    ]
    st.warning(f"{rule.name} would have fired on {len(rows)} of the last {days} days (nothing was sent).")
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="backtest_table")


def _editor(key: str, text: str) -> None:
    """YAML editor with save (Admins), and test for everyone."""
    edited = st.text_area("Rule (YAML)", text, height=320, key=f"{key}_yaml", disabled=not can_edit)
    days = st.number_input("Test over the last N days", min_value=1, max_value=366, value=30, key=f"{key}_days")
    test, save = st.columns(2)
    if test.button("Test this rule", key=f"{key}_test", icon=":material/science:"):
        _show_backtest(edited, int(days))
    if can_edit and save.button("Save", key=f"{key}_save", type="primary", icon=":material/save:"):
        try:
            stored = save_rule(settings, org, parse_rule_yaml(edited), actor=principal)
        except RuleError as error:
            st.error(_problems(error), icon=":material/error:")
        else:
            state = "enabled" if stored.enabled else "disabled"
            st.success(f"Saved rule {stored.name} ({stored.rule.trigger.kind}, {state}).")


rules_tab, new_tab, incidents_tab = st.tabs(["Rules", "New rule", "Incidents"])

with rules_tab:
    rules = list_rules(settings, org)
    if not rules:
        st.info("No rules yet." + (" Create one from a template under **New rule**." if can_edit else ""))
    else:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "name": rule.name,
                        "trigger": rule.rule.trigger.kind,
                        "actions": ", ".join(action.type for action in rule.rule.actions),
                        "enabled": rule.enabled,
                        "updated": rule.updated_at.strftime("%Y-%m-%d %H:%M"),
                    }
                    for rule in rules
                ]
            ),
            hide_index=True,
            key="rules_table",
        )
        name = st.selectbox("Rule", [rule.name for rule in rules], key="rule_pick")
        chosen = get_rule(settings, org, name)
        if can_edit:
            label = "Disable" if chosen.enabled else "Enable"
            if st.button(f"{label} {name}", key="rule_toggle"):
                set_enabled(settings, org, name, not chosen.enabled, actor=principal)
                st.rerun()
        document = chosen.rule.model_dump(mode="json", exclude_none=True)
        _editor(f"rule_{name}", yaml.safe_dump(document, sort_keys=False))

with new_tab:
    template = st.selectbox(
        "Start from a template",
        list(TEMPLATES),
        key="template_pick",
        on_change=lambda: st.session_state.pop("new_yaml", None),  # load the newly picked template
    )
    if not can_edit:
        st.caption("Only Admins save rules; you can test a template on your data.")
    _editor("new", TEMPLATES[template])

with incidents_tab:
    status = st.segmented_control("Status", ["open", "acknowledged", "resolved"], default="open", key="incident_status")
    incidents = list_incidents(settings, org, status=status)
    if not incidents:
        st.info(f"No {status or ''} incidents.")
    else:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "id": incident.id,
                        "rule": incident.rule_name,
                        "severity": incident.severity,
                        "status": incident.status,
                        "group": ", ".join(f"{key}={value}" for key, value in incident.group.items()),
                        "matches": incident.matches,
                        "opened": incident.opened_at.strftime("%Y-%m-%d %H:%M"),
                    }
                    for incident in incidents
                ]
            ),
            hide_index=True,
            key="incidents_table",
        )
        picked = st.selectbox("Incident", [incident.id for incident in incidents], key="incident_pick")
        if can_act:
            ack, done = st.columns(2)
            if ack.button("Acknowledge", key="incident_ack", disabled=status != "open"):
                acknowledge(settings, org, picked, actor=principal)
                st.rerun()
            if done.button("Resolve", key="incident_resolve", disabled=status == "resolved"):
                resolve(settings, org, picked, actor=principal)
                st.rerun()
        st.subheader("Comments")
        for note in annotations(settings, principal, incident_id=picked, org_id=org):
            st.markdown(f"**{note.author}** · {note.created_at[:16]}  \n{note.body}")
        if can_comment:
            with st.form("incident_comment", clear_on_submit=True):
                body = st.text_area("Add a comment", key="incident_comment_body")
                if st.form_submit_button("Comment"):
                    try:
                        add_annotation(settings, principal, body=body, incident_id=picked, org_id=org)
                    except ValueError as error:
                        st.error(str(error))
                    else:
                        st.rerun()
