"""Team annotations on time charts: `annotate(figure, context)` adds a dotted marker (hover: the comments) on each
annotated day of the chart's window, and draws a small form to annotate a day (people with `annotations:write`).
Notes are the org's (and the viewer's team's) from the identity store (`aioa.collab.store`)."""

from __future__ import annotations

import html
from datetime import date

import streamlit as st
from clicks import advance, revision
from signin import may

from aioa.collab.store import Note, add_annotation, annotations
from aioa.settings import get_settings

MARKER_COLOUR = "#7f7f7f"


def _orgs(context) -> tuple[str, ...]:
    """Whose notes: the principal's org; the local operator's filtered orgs (or the default org)."""
    if context.principal.org_id is not None:
        return (context.principal.org_id,)
    return tuple(context.filters.orgs) or (get_settings().default_org,)


def notes_for(context, metric: str | None = None) -> list[Note]:
    settings = get_settings()
    return [
        note
        for org in _orgs(context)
        for note in annotations(
            settings,
            context.principal,
            start=context.filters.start,
            end=context.filters.end,
            metric=metric,
            org_id=org,
        )
        if note.day is not None
    ]


def add_markers(figure, notes: list[Note]):
    """One dotted vertical line per annotated day, with the day's comments on hover; returns the figure."""
    by_day: dict[date, list[Note]] = {}
    for note in notes:
        by_day.setdefault(note.day, []).append(note)
    for day, day_notes in sorted(by_day.items()):
        text = "<br>".join(f"{html.escape(note.author)}: {html.escape(note.body[:120])}" for note in day_notes)
        figure.add_shape(
            type="line",
            xref="x",
            yref="paper",
            x0=day,
            x1=day,
            y0=0,
            y1=1,
            line={"color": MARKER_COLOUR, "dash": "dot", "width": 1},
        )
        figure.add_annotation(
            x=day,
            y=1,
            xref="x",
            yref="paper",
            text=f"✎{len(day_notes) if len(day_notes) > 1 else ''}",
            hovertext=text,
            showarrow=False,
            yanchor="bottom",
            font={"color": MARKER_COLOUR},
        )
    return figure


def annotate(figure, context, *, metric: str | None = None, key: str):
    """Markers for the notes of the chart's window, and (for those who may write) a form to add one; returns the
    figure to draw."""
    notes = notes_for(context, metric)
    form = f"{key}_annotation"
    if may(context.principal, "annotations:write") and len(_orgs(context)) == 1:
        with (
            st.expander("Annotate a day", icon=":material/edit_note:"),
            # keyed by revision: a submit delivered twice (clicks.py) finds a new form and adds the note once
            st.form(f"{form}_{revision(form)}", clear_on_submit=True),
        ):
            filters = context.filters
            day = st.date_input("Day", value=filters.end, min_value=filters.start, max_value=filters.end)
            body = st.text_input("Comment", key=f"{key}_annotation_body")
            team_only = st.checkbox("Only my team sees it", key=f"{key}_annotation_team")
            if st.form_submit_button("Add"):
                try:
                    note = add_annotation(
                        get_settings(),
                        context.principal,
                        body=body,
                        day=day,
                        metric=metric,
                        team_only=team_only,
                        org_id=_orgs(context)[0],
                    )
                except ValueError as error:
                    st.error(str(error))
                else:
                    advance(form)
                    notes.append(note)
    return add_markers(figure, notes)
