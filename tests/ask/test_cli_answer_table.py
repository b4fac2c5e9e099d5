"""`aioa ask` prints its rows as people read them: dollars, whole counts with thousands separators, percentages,
dates without a midnight time, labels instead of column names; a column the registry would read as a number but
that holds words is printed as words, not a crash."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pandas as pd

from aioa.formatting import column, readable_frame


def _ask(home, question: str) -> subprocess.CompletedProcess:
    """`aioa ask QUESTION` as its own process with stdout a pipe (`aioa ask … > answer.txt`)."""
    env = dict(os.environ, AIOA_HOME=str(home), AIOA_LLM_PROVIDER="none")
    return subprocess.run(
        [sys.executable, "-m", "aioa.cli", "ask", question], capture_output=True, text=True, env=env, timeout=300
    )


def _table(home, question: str, header: list[str]) -> list[list[str]]:
    """The answer's rows: in a pipe the table is plain text, one line per row, columns two or more spaces apart."""
    result = _ask(home, question)
    assert result.returncode == 0, result.stderr
    cells = [re.split(r"\s{2,}", line.strip()) for line in result.stdout.splitlines() if line.strip()]
    return cells[cells.index(header) + 1 :]


def test_spend_per_day_reads_as_dollars_on_plain_dates(built_home):
    rows = _table(built_home, "daily spend over the last 7 days", ["Day", "Spend"])
    assert [day for day, _ in rows] == [f"2026-11-{day}" for day in range(14, 21)]  # no 00:00:00
    assert all(re.fullmatch(r"\$\d+\.\d\d", spend) for _, spend in rows), rows


def test_counts_read_whole_with_thousands_separators(built_home):
    rows = _table(built_home, "top 5 users by tokens this month", ["User", "Tokens"])
    assert len(rows) == 5
    for _, tokens in rows:
        assert re.fullmatch(r"\d{1,3}(,\d{3})+", tokens), tokens  # 4,661,059, never 4,661,059.0000


def test_rates_read_as_percentages(built_home):
    rows = _table(built_home, "cache hit rate by team", ["Team", "Cache hit rate"])
    assert len(rows) >= 3 and all(re.fullmatch(r"\d+\.\d%", rate) for _, rate in rows), rows
    if "—" in [team for team, _ in rows]:  # usage of people without a team reads as such, never "None"
        answer = _ask(built_home, "cache hit rate by team").stdout
        assert "no team: " in answer and "None" not in answer


def test_a_refusal_goes_to_stderr_with_its_exit_code(built_home):
    result = _ask(built_home, "which mcp tool fails most often")
    assert (result.returncode, result.stdout) == (4, "")
    assert "Not answered" in result.stderr


def test_a_metric_column_reads_in_the_registrys_unit():
    assert (column("spend").kind, column("error_rate").kind, column("avg_latency_ms").kind) == (
        "usd",
        "ratio",
        "duration_ms",
    )
    assert column("no_such_column").label == "No such column"


def test_words_under_a_number_name_stay_words():
    frame = pd.DataFrame({"period": ["this month"], "model": ["claude-haiku-4-5"], "spend": [1234.5], "tokens": [2.0]})
    shown = readable_frame(frame)
    assert shown.columns.tolist() == ["Period", "Model", "Spend", "Tokens"]
    assert shown.iloc[0].tolist() == ["this month", "claude-haiku-4-5", "$1,234.50", "2"]
