"""Saved views in the sidebar of filtered pages: the team's named links (page + the filters already in the URL) and
a form to save the current one for the team (`views:write`)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import streamlit as st
from signin import may

from aioa.collab.store import save_view, view_url, views
from aioa.identity.principal import Principal
from aioa.settings import get_settings


def saved_views_sidebar(principal: Principal, page, navigation: dict) -> None:
    """`page`: the running st.Page; `navigation`: section -> the st.Page objects this principal has."""
    if principal.org_id is None:
        return  # the local operator belongs to no team: views are shared within an org's team
    settings = get_settings()
    pages = {item.title: item for items in navigation.values() for item in items}
    with st.sidebar.expander("Saved views", icon=":material/bookmarks:"):
        for view in views(settings, principal):
            target = pages.get(view["page"])
            if target is None:
                continue  # a page this role does not have
            st.page_link(target, label=view["name"], query_params=dict(parse_qsl(view["query"])))
            st.caption(f"`{view_url(view, target.url_path)}` · {view['team_id'] or 'whole org'}")
        if may(principal, "views:write"):
            with st.form("save_view", clear_on_submit=True):
                name = st.text_input("Save this view as", key="saved_view_name")
                if st.form_submit_button("Save view"):
                    query = urlencode({key: st.query_params[key] for key in st.query_params})
                    try:
                        save_view(settings, principal, name=name, page=page.title, query=query)
                    except ValueError as error:
                        st.error(str(error))
                    else:
                        st.rerun()
