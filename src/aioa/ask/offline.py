"""The offline question parser: metric × dimension × time range × filter, top-N, trends and period comparisons,
turned into one parameterised SELECT over the marts. No model, no network; it says plainly what it cannot answer."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from aioa.metrics import askable_metrics, dimension_words, table_dimensions

DAY_COLUMN = {"fct_sessions": "day"}
GRAINS = {
    "daily": "day",
    "day": "day",
    "per day": "day",
    "weekly": "week",
    "week": "week",
    "monthly": "month",
    "month": "month",
}
MONTHS = {name.lower(): index for index, name in enumerate(calendar.month_name) if name}
MAX_TOP = 100  # a top-N question returns at most this many rows
MAX_LOOKBACK_DAYS = 10 * 366  # "last N days/weeks/months" reaches back at most ten years
YEARS = range(1970, 2200)  # dates outside are typos, not questions about the data
MAX_QUESTION_CHARS = 2000  # the service caps by setting; the parser never reads more than this


@dataclass
class Period:
    start: date
    end: date
    label: str


@dataclass
class ParsedQuestion:
    metric: str
    table: str
    expression: str
    unit: str
    dimension: str | None = None
    grain: str | None = None
    periods: list[Period] = field(default_factory=list)
    filters: dict[str, str] = field(default_factory=dict)
    top: int | None = None
    ascending: bool = False
    notes: list[str] = field(default_factory=list)  # what the parser clamped, said next to the answer


class NotUnderstood(ValueError):
    """The offline parser cannot answer this question."""


def parse(question: str, today: date, known_values: dict[str, list[str]]) -> ParsedQuestion:
    if len(question) > MAX_QUESTION_CHARS:
        raise NotUnderstood(f"the question is longer than {MAX_QUESTION_CHARS:,} characters")
    text = " " + re.sub(r"\s+", " ", question.lower().strip().rstrip("?.!")) + " "
    metric = askable_metrics()[_metric(text)]
    parsed = ParsedQuestion(metric.name.replace("_", " "), metric.table, metric.expression, metric.unit)
    columns = table_dimensions(metric.table)
    parsed.periods = _periods(text, today, parsed.notes)
    parsed.filters = _filters(text, known_values, columns)
    if match := re.search(r"\b(top|bottom|least|highest|lowest|biggest|largest)\s+([-+]?\d[\d,.^e*]*)?", text):
        parsed.top = _top(match.group(2), parsed.notes)
        parsed.ascending = match.group(1) in ("bottom", "least", "lowest")
    elif (asks := re.search(r"\b(which|what|who)\b", text)) and re.search(
        r"\b(most|highest|biggest|largest)\b", text[asks.end() :]
    ):  # one scan each: linear, not quadratic
        parsed.top = 1
    parsed.dimension = _dimension(text, columns, parsed.filters)
    if re.search(
        r"\b(trend|over time|per day|per week|per month|daily|weekly|monthly|by day|by week|by month|"
        r"each day|each week|each month)\b",
        text,
    ):
        grain = re.search(
            r"\b(daily|weekly|monthly|per day|per week|per month|by day|by week|by month|each day|"
            r"each week|each month)\b",
            text,
        )
        parsed.grain = GRAINS[grain.group(1).split()[-1]] if grain else "day"
    if parsed.top and parsed.dimension is None:
        raise NotUnderstood("a top-N question needs something to rank: users, projects, models, …")
    return parsed


def _top(count: str | None, notes: list[str]) -> int:
    """The N of a top-N question: 1 when absent; refused when not a positive whole number; clamped to MAX_TOP."""
    if count is None:
        return 1
    count = count.rstrip(",.")
    if not count.isdigit():
        raise NotUnderstood(f"“top {count}” is not a count; ask for the top 1 to {MAX_TOP}")
    if _whole(count) == 0:
        raise NotUnderstood(f"“top 0” asks for nothing; ask for the top 1 to {MAX_TOP}")
    if _whole(count) > MAX_TOP:
        notes.append(f"Showing the top {MAX_TOP} (the most a question returns), not {count[:12]}.")
        return MAX_TOP
    return int(count)


def _whole(digits: str) -> int:
    """A string of digits as an int; absurdly long ones (int() refuses past 4,300 digits) count as 10**18."""
    return int(digits) if len(digits) <= 18 else 10**18


def _day(text: str) -> date:
    """An ISO date from the question, refused in words when it is not a real day."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise NotUnderstood(f"{text[:40]} is not a date on the calendar") from None
    if day.year not in YEARS:
        raise NotUnderstood(f"{text[:40]} is outside the years I can answer for ({YEARS.start}–{YEARS.stop - 1})")
    return day


def _metric(text: str) -> str:
    """The registry name of the metric the question names (the longest matching synonym wins)."""
    best = None
    for name, metric in askable_metrics().items():
        for word in metric.synonyms:
            position = text.find(f" {word} ")
            if position == -1:
                position = text.find(f" {word}")
            if position != -1 and (best is None or len(word) > best[1]):
                best = (name, len(word))
    if best is None:
        raise NotUnderstood(
            "no metric I know (" + ", ".join(name.replace("_", " ") for name in askable_metrics()) + ")"
        )
    return best[0]


def _dimension(text: str, columns: set[str], filters: dict[str, str]) -> str | None:
    words = dimension_words()
    for word in sorted(words, key=len, reverse=True):
        column = words[word]
        if (
            column in columns
            and column not in filters
            and re.search(
                rf"\b(by|per|each|which|what|top \d+|top|bottom \d+|across|for each|breakdown by)\s+{word}s?\b"
                rf"|\b{word}s?\s+(by|with|ranked)\b",
                text,
            )
        ):
            return column
    return None


FILTER_PRIORITY = ("org_id", "project_id", "user_id", "team_id", "model", "project_group", "mcp_server", "provider")


def _filters(text: str, known_values: dict[str, list[str]], columns: set[str]) -> dict[str, str]:
    """Known values named in the question; a value that names several things (org `acme`, provider `acme`)
    filters the first column in FILTER_PRIORITY only."""
    found: dict[str, str] = {}
    claimed: set[str] = set()
    for column in FILTER_PRIORITY:
        if column not in columns or column not in known_values:
            continue
        for value in sorted(known_values[column], key=len, reverse=True):
            if value and value not in claimed and re.search(rf"(?<![\w-]){re.escape(value.lower())}(?![\w-])", text):
                found[column] = value
                claimed.add(value)
                break
    return found


def _periods(text: str, today: date, notes: list[str]) -> list[Period]:
    month_start = today.replace(day=1)
    last_month_end = month_start - timedelta(days=1)
    named = {
        "today": Period(today, today, "today"),
        "yesterday": Period(today - timedelta(days=1), today - timedelta(days=1), "yesterday"),
        "this week": Period(today - timedelta(days=today.weekday()), today, "this week"),
        "last week": Period(
            today - timedelta(days=today.weekday() + 7), today - timedelta(days=today.weekday() + 1), "last week"
        ),
        "this month": Period(month_start, today, "this month"),
        "last month": Period(last_month_end.replace(day=1), last_month_end, "last month"),
        "this year": Period(today.replace(month=1, day=1), today, "this year"),
    }
    found: list[tuple[int, Period]] = []
    for phrase, period in named.items():
        for match in re.finditer(rf"\b{phrase}\b", text):
            found.append((match.start(), period))
    for match in re.finditer(r"\b(?:last|past|previous)\s+(-?\d+)\s+(day|week|month)s?\b", text):
        count, unit = match.group(1), match.group(2)
        if not count.isdigit() or _whole(count) == 0:
            raise NotUnderstood(f"“{match.group(0).strip()}” is not a period; ask for the last 1 or more {unit}s")
        days = _whole(count) * {"day": 1, "week": 7, "month": 30}[unit]
        label = match.group(0).strip()
        if days > MAX_LOOKBACK_DAYS:
            notes.append(f"“{label[:60]}” reaches back too far; showing the last {MAX_LOOKBACK_DAYS:,} days.")
            days, label = MAX_LOOKBACK_DAYS, f"last {MAX_LOOKBACK_DAYS} days"
        found.append((match.start(), Period(today - timedelta(days=days - 1), today, label)))
    month_names = "|".join(MONTHS)
    for match in re.finditer(rf"\b(?:({month_names})|(?:in|for|of) month (\d+))(?:\s+(\d+))?\b", text):
        month = MONTHS[match.group(1)] if match.group(1) else _whole(match.group(2))
        if not 1 <= month <= 12:
            raise NotUnderstood(f"there is no month {match.group(2)[:12]}; months run from 1 to 12")
        digits = match.group(3) or ""
        if len(digits) > 2:  # a year (one or two digits are a day of the month, not read)
            year = _whole(digits)
            if len(digits) != 4 or year not in YEARS:
                raise NotUnderstood(f"{digits[:12]} is not a year I can answer for ({YEARS.start}–{YEARS.stop - 1})")
        else:
            year = today.year if month <= today.month else today.year - 1
        name = calendar.month_name[month].lower()
        end = date(year, month, calendar.monthrange(year, month)[1])
        found.append((match.start(), Period(date(year, month, 1), min(end, today), f"{name} {year}")))
    for match in re.finditer(r"\bbetween (\d+-\d+-\d+) and (\d+-\d+-\d+)\b", text):
        start, end = _day(match.group(1)), _day(match.group(2))
        if start > end:
            raise NotUnderstood(f"{match.group(1)} is after {match.group(2)}")
        found.append((match.start(), Period(start, end, f"{match.group(1)} to {match.group(2)}")))
    for match in re.finditer(r"\bsince (\d+-\d+-\d+)\b", text):
        found.append((match.start(), Period(_day(match.group(1)), today, f"since {match.group(1)}")))
    for match in re.finditer(r"\b(?:on|for) (\d+-\d+-\d+)\b", text):
        day = _day(match.group(1))
        found.append((match.start(), Period(day, day, match.group(1))))
    found.sort(key=lambda item: item[0])
    periods, seen = [], set()
    for _, period in found:
        if (period.start, period.end) not in seen:
            seen.add((period.start, period.end))
            periods.append(period)
    return periods


def to_sql(parsed: ParsedQuestion) -> tuple[str, dict]:
    """One SELECT with bound parameters (filter values and dates never enter the SQL text)."""
    day_column = DAY_COLUMN.get(parsed.table, "day")
    params: dict = {}
    conditions = []
    for index, (column, value) in enumerate(sorted(parsed.filters.items())):
        conditions.append(f"{column} = $f{index}")
        params[f"f{index}"] = value
    compare = len(parsed.periods) >= 2
    if parsed.periods and not compare:
        conditions.append(f"{day_column} between $start_day and $end_day")
        params |= {"start_day": parsed.periods[0].start, "end_day": parsed.periods[0].end}
    select, group = [], []
    if compare:
        cases = []
        for index, period in enumerate(parsed.periods[:4]):
            params |= {f"p{index}_start": period.start, f"p{index}_end": period.end, f"p{index}_label": period.label}
            cases.append(f"when {day_column} between $p{index}_start and $p{index}_end then $p{index}_label")
        select.append(f"case {' '.join(cases)} end as period")
        group.append("period")
        conditions.append(
            "("
            + " or ".join(
                f"{day_column} between $p{index}_start and $p{index}_end"
                for index in range(min(4, len(parsed.periods)))
            )
            + ")"
        )
    if parsed.grain:
        bucket = day_column if parsed.grain == "day" else f"cast(date_trunc('{parsed.grain}', {day_column}) as date)"
        select.append(f"{bucket} as {parsed.grain}")
        group.append(parsed.grain)
    if parsed.dimension:
        select.append(parsed.dimension)
        group.append(parsed.dimension)
    value_name = parsed.metric.replace(" ", "_")
    select.append(f"{parsed.expression} as {value_name}")
    sql = f"select {', '.join(select)} from marts.{parsed.table}"
    if conditions:
        sql += " where " + " and ".join(conditions)
    if group:
        sql += " group by " + ", ".join(group)
    ties = "".join(f", {column}" for column in group)  # equal values in a stable order: same question, same answer
    if parsed.top:
        direction = "asc" if parsed.ascending else "desc"
        sql += f" order by {value_name} {direction} nulls last{ties} limit {parsed.top}"
    elif parsed.grain:
        sql += f" order by {parsed.grain}" + (f", {parsed.dimension}" if parsed.dimension else "")
    elif compare:
        sql += " order by min(" + day_column + ")"
    elif parsed.dimension:
        sql += f" order by {value_name} desc nulls last{ties}"
    return sql, params
