"""Ask: a question in plain English becomes one validated, tenant-scoped SELECT over the marts; the answer says what
it answered (window, filters, grouping) and shows the SQL with its bound values."""

import pandas as pd
import streamlit as st
from page_kit import downloadable_table, page_context

from aioa.ask.service import EXAMPLES
from aioa.settings import get_settings

context = page_context()
st.title("Ask")
st.caption(
    "Ask about spend, tokens, calls, errors, latency, cache hits, handoffs, MCP tools or sessions, by org, team, "
    "user, project or model, over any period. A question with a part I cannot apply is not answered: I say which part."
)
st.write("Try:")
columns = st.columns(2)
for index, example in enumerate(EXAMPLES):
    if columns[index % 2].button(example, key=f"ask_example_{index}", use_container_width=True):
        st.session_state["ask_question"] = example
question = st.text_input("Question", key="ask_question", placeholder="e.g. top 5 projects by spend last month")
if question:
    from aioa.ask import ask

    result = ask(question, context.scope)
    if result.refused:
        st.error(result.reason)
    elif not result.answered:
        st.warning(result.reason)
    else:
        st.success(result.answer)
        if result.understood:
            st.caption(f"Answered: {result.understood}.")
        if result.chart is not None and not result.rows.empty:
            st.plotly_chart(result.chart.figure(result.rows), key="ask_chart")
        downloadable_table(result.rows, "answer")
        if st.button("Add to My dashboard", icon=":material/push_pin:", key="ask_pin"):
            from aioa.dashboards.layouts import pin_question

            pin_question(get_settings(), context.principal, question)
            for name in ("my_dashboard_draft", "my_dashboard_saved"):  # My dashboard reads the stored layout again
                st.session_state.pop(name, None)
            st.toast(
                "Added to My dashboard: it answers this question again each time it opens.", icon=":material/check:"
            )
    if result.sql:
        with st.expander("SQL and its parameters"):
            st.code(result.sql, language="sql")
            if result.parameters:
                st.dataframe(
                    pd.DataFrame(
                        [{"parameter": f"${name}", "value": value} for name, value in result.parameter_words().items()]
                    ),
                    hide_index=True,
                )
