"""Ask: a question in plain English becomes one validated, tenant-scoped SELECT over the marts."""

import streamlit as st
from page_kit import downloadable_table, page_context

context = page_context()
st.title("Ask")
question = st.text_input("Question", placeholder="e.g. top 5 projects by spend last month")
if question:
    from aioa.ask import ask

    result = ask(question, context.scope)
    if result.refused:
        st.error(result.reason)
    elif not result.answered:
        st.info(result.reason)
    else:
        st.success(result.answer)
        if result.chart is not None and not result.rows.empty:
            st.plotly_chart(result.chart.figure(result.rows), key="ask_chart")
        downloadable_table(result.rows, "answer")
    if result.sql:
        st.code(result.sql, language="sql")
