"""The Ask page (streamlit AppTest): an example question is one click, the answer says what it answered, and the SQL
is shown with the values bound to its parameters."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from aioa.ask.service import EXAMPLES
from aioa.settings import PROJECT_ROOT

APP = str(PROJECT_ROOT / "apps" / "dashboard" / "streamlit_app.py")


def test_an_example_question_answers_with_its_window_and_parameters(built_home, monkeypatch):
    monkeypatch.setenv("AIOA_HOME", str(built_home))
    monkeypatch.setenv("AIOA_AUTH", "off")  # the one local operator, as in tests/apps
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    app.switch_page("app_pages/ask.py")
    app.run()
    labels = {button.label for button in app.button if button.key and button.key.startswith("ask_example_")}
    assert labels == set(EXAMPLES)
    index = EXAMPLES.index("which user spent the most on opus this month")
    app.button(key=f"ask_example_{index}").click().run()
    assert not app.exception, [item.value for item in app.exception]
    assert app.text_input(key="ask_question").value == EXAMPLES[index]
    answer = app.success[0].value
    assert "opus" in answer and "this month" in answer and "has the highest spend" in answer
    parameters = [frame.value for frame in app.dataframe if "parameter" in frame.value.columns]
    assert parameters and "$start_day" in set(parameters[0]["parameter"])
    assert "$start_day" in app.code[0].value
    app.text_input(key="ask_question").input("spend excluding opus").run()
    assert any("excluding" in warning.value for warning in app.warning) and not app.success
