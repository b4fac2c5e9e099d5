"""My dashboard: the widgets you picked (numbers, charts, tables, saved questions), in your order, saved for you;
they follow the sidebar's filters and show only what your role may read."""

import streamlit as st
import widgets
from clicks import apply_once, revision
from page_kit import page_context
from signin import may

from aioa.dashboards.layouts import MAX_WIDGETS, QuestionWidget, load_layout, save_layout, validated
from aioa.dashboards.layouts import STARTER as LAYOUT_STARTER
from aioa.settings import get_settings

DRAFT = "my_dashboard_draft"  # the layout being arranged (saved when the user says so)
SAVED = "my_dashboard_saved"  # the stored layout as last read (the Ask page's pin drops both to re-read)
STARTER = list(LAYOUT_STARTER)

context = page_context()
settings = get_settings()
st.title("My dashboard")
if SAVED not in st.session_state:
    stored = load_layout(settings, context.principal)
    st.session_state[SAVED] = None if stored is None else [widget.model_dump() for widget in stored]
if DRAFT not in st.session_state:
    st.session_state[DRAFT] = list(st.session_state[SAVED] or STARTER)
draft: list[dict] = st.session_state[DRAFT]
saved = st.session_state[SAVED]
drawn = revision(DRAFT)  # every edit below applies to this layout only: a click delivered twice changes it once


def _move(index: int, step: int) -> None:
    draft.insert(index + step, draft.pop(index))


def _remove(index: int) -> None:
    draft.pop(index)


def _add(widget: dict) -> None:
    if len(draft) < MAX_WIDGETS:
        draft.append(widget)


def _save() -> None:
    stored = save_layout(settings, context.principal, draft)
    st.session_state[SAVED] = [widget.model_dump() for widget in stored]
    st.toast("Layout saved.", icon=":material/check:")


def _discard() -> None:
    st.session_state[DRAFT] = list(st.session_state[SAVED] or STARTER)


status = (
    "Your saved layout."
    if draft == saved
    else "A starter layout: arrange it and save it to make it yours."
    if saved is None and draft == STARTER
    else "Unsaved changes."
)
head, save, discard = st.columns([3, 1, 1], vertical_alignment="center")
head.caption(status)
save.button(
    "Save layout",
    type="primary",
    on_click=apply_once,
    args=(DRAFT, drawn, _save),
    disabled=draft == saved,
    key="my_dashboard_save",
)
discard.button(
    "Discard changes",
    on_click=apply_once,
    args=(DRAFT, drawn, _discard),
    disabled=draft == saved or saved is None,
    key="my_dashboard_discard",
)

with st.expander("Arrange widgets", icon=":material/tune:", expanded=not saved):
    layout = validated(draft)
    for index, widget in enumerate(layout):
        name, up, down, remove = st.columns([6, 1, 1, 1], vertical_alignment="center")
        name.markdown(f"{index + 1}\\. {widgets.title(widget)}")  # escaped: not a Markdown list
        up.button(
            "",
            icon=":material/arrow_upward:",
            key=f"my_up_{index}",
            disabled=index == 0,
            on_click=apply_once,
            args=(DRAFT, drawn, _move, index, -1),
            help="Move up",
        )
        down.button(
            "",
            icon=":material/arrow_downward:",
            key=f"my_down_{index}",
            disabled=index == len(layout) - 1,
            on_click=apply_once,
            args=(DRAFT, drawn, _move, index, 1),
            help="Move down",
        )
        remove.button(
            "",
            icon=":material/close:",
            key=f"my_remove_{index}",
            on_click=apply_once,
            args=(DRAFT, drawn, _remove, index),
            help="Remove",
        )
    kinds = widgets.catalogue()
    if may(context.principal, "ask:run"):
        kinds["Saved question"] = []
    kind = st.segmented_control("Add a widget", list(kinds), default="Number", key="my_add_kind") or "Number"
    if kind == "Saved question":
        question = st.text_input("Question (as you would ask it on the Ask page)", key="my_add_question")
        st.button(
            "Add question",
            key="my_add_question_button",
            disabled=not question.strip(),
            on_click=apply_once,
            args=(DRAFT, drawn, _add, {"kind": "question", "question": question.strip()}),
        )
    else:
        choices = kinds[kind]
        picked = st.selectbox(
            "Widget", range(len(choices)), format_func=lambda i: widgets.title(choices[i]), key=f"my_add_{kind}"
        )
        st.button(
            "Add",
            key="my_add_button",
            on_click=apply_once,
            args=(DRAFT, drawn, _add, choices[picked].model_dump()),
            disabled=len(draft) >= MAX_WIDGETS,
        )

layout = validated(draft)
if not layout:
    st.info("No widgets yet: add some under **Arrange widgets**.")
elif any(isinstance(widget, QuestionWidget) for widget in layout) and not may(context.principal, "ask:run"):
    st.caption("Saved questions need the Ask permission; your role sees them as a note.")
widgets.draw_all(layout, context)
