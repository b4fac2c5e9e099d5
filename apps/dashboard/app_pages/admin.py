"""Admin: the org's users, API keys, settings, the audit log and the permission matrix (Admins only)."""

import dataclasses

import pandas as pd
import streamlit as st
from signin import signed_in

from aioa.identity import accounts, api_keys, audit
from aioa.identity.permissions import check, matrix
from aioa.identity.principal import ROLES
from aioa.settings import get_settings

me = signed_in()
check(me, "users:manage")
settings = get_settings()
org = me.org_id  # None for the local operator: every org
st.title("Admin")
st.caption(f"Org {org}" if org else "Local operator: every org")


def as_row(item) -> dict:
    if dataclasses.is_dataclass(item):
        return dataclasses.asdict(item)
    return item.model_dump() if hasattr(item, "model_dump") else dict(vars(item))


def records(items) -> pd.DataFrame:
    return pd.DataFrame([as_row(item) for item in items])


def record(action: str, **detail) -> None:
    audit.record(settings, actor=me, action=action, org_id=org, detail=detail)


users_tab, keys_tab, settings_tab, audit_tab, roles_tab = st.tabs(
    ["Users", "API keys", "Settings", "Audit log", "Roles"]
)

with users_tab:
    st.dataframe(records(accounts.list_users(settings, org_id=org)), hide_index=True, width="stretch")
    with st.form("add_user", clear_on_submit=True):
        st.subheader("Add a user")
        email = st.text_input("Email")
        role = st.selectbox("Role", ROLES, index=1)
        team = st.text_input("Team (optional)")
        usage_ids = st.text_input("Usage ids (comma-separated ids in the logs, optional)")
        password = st.text_input("Initial password", type="password")
        new_org = org or st.text_input("Org")
        if st.form_submit_button("Add user") and email and password:
            accounts.create_user(
                settings,
                email.strip(),
                org_id=new_org,
                role=role,
                team_id=team.strip() or None,
                password=password,
                usage_user_ids=tuple(part.strip() for part in usage_ids.split(",") if part.strip()),
            )
            st.success(f"Added {email}.")
    disable = st.text_input("Disable the user with email", key="disable_email")
    if st.button("Disable", disabled=not disable):
        accounts.disable_user(settings, disable.strip())
        st.success(f"Disabled {disable}.")

with keys_tab:
    st.dataframe(records(api_keys.list_keys(settings, org_id=org)), hide_index=True, width="stretch")
    with st.form("create_key", clear_on_submit=True):
        st.subheader("Create an API key")
        name = st.text_input("Name")
        scopes = st.multiselect("Scopes", ["read", "ingest", "route", "admin"], default=["read"])
        expires = st.number_input("Expires after days (0: never)", min_value=0, value=90)
        key_org = org or st.text_input("Org", key="key_org")
        if st.form_submit_button("Create key") and scopes:
            info, plaintext = api_keys.create_key(
                settings,
                org_id=key_org,
                scopes=scopes,
                name=name or None,
                expires_days=expires or None,
                created_by=me.email or me.subject,
            )
            st.success("Copy the key now: it is not shown again.")
            st.code(plaintext)
    revoke = st.text_input("Revoke the key with id", key="revoke_id")
    if st.button("Revoke", disabled=not revoke):
        api_keys.revoke_key(settings, revoke.strip())
        st.success(f"Revoked {revoke}.")

with settings_tab:
    if org is None:
        st.info("Pick an org's admin account to edit its settings (`aioa tenant settings set --org ORG --file F`).")
    else:
        from aioa.tenants.settings_doc import tenant_settings, update_tenant_settings

        current = tenant_settings(settings, org)
        edited = st.text_area("Settings (JSON)", current.model_dump_json(indent=2), height=400)
        if st.button("Save settings"):
            import json

            try:
                update_tenant_settings(settings, org, json.loads(edited), actor=me)
            except ValueError as error:  # pydantic's ValidationError and bad JSON both say what is wrong
                st.error(str(error))
            else:
                st.success("Saved.")

with audit_tab:
    verdict = audit.verify(settings)
    if verdict.ok:
        st.success(f"The audit chain is intact ({verdict.entries:,} entries).")
    else:
        st.error(f"The audit chain is broken at entry {verdict.first_bad_seq}: {verdict.problem}")
    entries = pd.DataFrame(audit.export(settings, org_id=org))
    st.dataframe(entries.tail(500).iloc[::-1], hide_index=True, width="stretch")

with roles_tab:
    st.dataframe(pd.DataFrame(matrix()), hide_index=True, width="stretch")
