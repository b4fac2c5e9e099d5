"""Reports: start from a template (the built-in five or one your team saved), pick sections, metrics and how each is
split, preview it over the sidebar's filters, download it (PDF, HTML, Excel, CSV, JSON, Parquet) and save it as a
template for your team (`views:write`). `aioa report render NAME` and the rules action `send_report` use the same
templates."""

import loaders
import streamlit as st
import streamlit.components.v1 as components
from page_kit import page_context
from pydantic import ValidationError
from signin import may

from aioa.analytics.filters import DIMENSIONS
from aioa.metrics import METRICS
from aioa.reports.render.formats import MIME, file_name, render
from aioa.reports.render.names import ReportFormat
from aioa.reports.render.store import save_template, saved_templates
from aioa.reports.render.templates import (
    BREAKDOWN_METRICS,
    BUILTIN,
    KPI_METRICS,
    SECTION_KINDS,
    TREND_METRICS,
    ReportTemplate,
    Section,
)
from aioa.settings import get_settings

context = page_context()
principal, settings = context.principal, get_settings()
st.title("Reports")
org = principal.org_id
if org is None:  # the local operator: the org a saved template belongs to
    orgs = loaders.filter_options(context.version, context.scope)["orgs"] or [settings.default_org]
    org = st.selectbox("Save templates for org", orgs, key="reports_org")
saved = {template.name: template for template in saved_templates(settings, org, team_id=principal.team_id)}
choices = {**BUILTIN, **saved}
start = choices[st.selectbox("Start from", list(choices), key="reports_template")]

METRIC_CHOICES = {"kpis": KPI_METRICS, "trend": TREND_METRICS, "breakdown": BREAKDOWN_METRICS}
SPLIT = {"trend": [None, *DIMENSIONS], "breakdown": list(DIMENSIONS)}
title = st.text_input("Title", start.title, key=f"title_{start.name}")
kinds = st.multiselect(
    "Sections (in this order)",
    list(range(len(start.sections))) + [f"new {kind}" for kind in SECTION_KINDS],
    default=list(range(len(start.sections))),
    format_func=lambda key: start.sections[key].heading if isinstance(key, int) else f"Add: {key[4:]}",
    key=f"sections_{start.name}",
)
sections = []
for position, key in enumerate(kinds):
    base = start.sections[key] if isinstance(key, int) else Section.model_construct(kind=key[4:], metrics=[], by=None)
    with st.expander(f"{position + 1}. {base.kind}", expanded=False):
        fields = {"kind": base.kind}
        if base.kind in METRIC_CHOICES:
            fields["metrics"] = st.multiselect(
                "Metrics",
                METRIC_CHOICES[base.kind],
                default=[name for name in base.metrics if name in METRIC_CHOICES[base.kind]],
                format_func=lambda name: METRICS[name].label,
                key=f"metrics_{start.name}_{position}_{key}",
            )
        if base.kind in SPLIT:
            options = SPLIT[base.kind]
            fields["by"] = st.selectbox(
                "Split by",
                options,
                index=options.index(base.by) if base.by in options else 0,
                format_func=lambda name: "nothing" if name is None else name,
                key=f"by_{start.name}_{position}_{key}",
            )
        sections.append(fields)

try:
    template = ReportTemplate(
        name=start.name, title=title, period=start.period, days=start.days, sections=[Section(**s) for s in sections]
    )
except ValidationError as error:
    st.error("This report cannot be built:\n\n" + "\n".join(f"- {item['msg']}" for item in error.errors()))
    st.stop()

report = loaders.report(context.version, context.scope, context.filters, template.model_dump_json())
chosen = st.segmented_control("Format", list(ReportFormat), default=ReportFormat.pdf, key="reports_format")
if chosen is not None:
    st.download_button(
        f"Download {chosen.value.upper()}",
        lambda: render(report, chosen),  # rendered on click, not on every rerun
        file_name(report, chosen),
        MIME[chosen],
        key="reports_download",
    )

if may(principal, "views:write"):
    with st.form("save_template"):
        name = st.text_input(
            "Save as (lower-case letters, digits, - and _)", value="" if start.name in BUILTIN else start.name
        )
        submitted = st.form_submit_button("Save for my team" if principal.team_id else "Save for the org")
    if submitted:
        try:
            save_template(
                settings,
                org,
                template.model_copy(update={"name": name}),
                team_id=principal.team_id,
                actor=principal.email or principal.subject,
            )
        except (ValueError, ValidationError) as error:
            st.error(str(error))
        else:
            st.success(f"Saved {name}: `aioa report render {name} --org {org}` renders it too.")

components.html(
    loaders.report_html(context.version, context.scope, context.filters, template.model_dump_json()),
    height=900,
    scrolling=True,
)
