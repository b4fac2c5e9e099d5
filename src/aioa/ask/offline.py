"""The offline question parser: metric × dimensions × time range × filters, top-N, trends and comparisons (periods,
or named models/users/teams/projects side by side), turned into one parameterised SELECT over the marts. No model,
no network.

Every word of the question must be accounted for: each recognised part claims its words, and a word left over
that is not filler ("the", "show me", …) stops the answer: "I did not understand …", never a confident answer to
a question with a part silently dropped (a model, a user, a period, "excluding", "median", …)."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from aioa.metrics import DIMENSIONS, Metric, askable_metrics, dimension_words, table_dimensions

GRAINS = {"day": "day", "daily": "day", "week": "week", "weekly": "week", "month": "month", "monthly": "month"}
MONTHS = {name.lower(): index for index, name in enumerate(calendar.month_name) if name}
MAX_TOP = 100  # a top-N question returns at most this many rows
MAX_LOOKBACK_DAYS = 10 * 366  # "last N days/weeks/months" reaches back at most ten years
YEARS = range(1970, 2200)  # dates outside are typos, not questions about the data
MAX_QUESTION_CHARS = 2000  # the service caps by setting; the parser never reads more than this
MAX_PERIODS = 4
MAX_DIMENSIONS = 2

# Words that carry no meaning of their own here: a question may use them freely.
# fmt: off
FILLER = frozenset({
    "a", "an", "the", "of", "in", "on", "for", "to", "at", "from", "during", "over", "within", "across", "is",
    "are", "was", "were", "be", "been", "being", "did", "do", "does", "done", "has", "have", "had", "how", "much",
    "many", "what", "whats", "which", "who", "whose", "show", "me", "give", "tell", "list", "get", "find",
    "display", "see", "please", "our", "my", "we", "i", "us", "you", "your", "their", "there", "it", "its", "this",
    "that", "these", "those", "and", "or", "with", "total", "overall", "so", "far", "number", "amount", "value",
    "values", "by", "per", "ranked", "vs", "versus", "compare", "compared", "comparison", "against", "between",
    "than", "each", "every", "all", "breakdown", "split", "grouped", "group", "broken", "down", "s", "used", "use",
    "using", "task", "tasks", "made", "make", "makes",
})
# fmt: on
# Parts of model names that name no family a person would ask about ("chat" in deepseek-chat).
GENERIC_MODEL_WORDS = frozenset({"chat", "internal", "llm", "model", "latest", "preview", "instruct", "synthetic"})
WORD = re.compile(r"[^\s]+")


@dataclass
class Period:
    start: date
    end: date
    label: str

    def words(self) -> str:
        days = f"{self.start.isoformat()}" if self.start == self.end else f"{self.start} to {self.end}"
        return days if self.label in (days, self.start.isoformat()) else f"{self.label} ({days})"


@dataclass(frozen=True)
class Named:
    """Something a question names: `label` as written ("opus") and the column values it stands for."""

    label: str
    values: tuple[str, ...]

    def words(self) -> str:
        if self.values == (self.label,):
            return self.label
        return f"“{self.label}” ({', '.join(self.values)})"


@dataclass
class ParsedQuestion:
    metric: str  # the registry name (also the answer's value column)
    table: str
    expression: str
    unit: str
    label: str = ""
    dimensions: list[str] = field(default_factory=list)
    grain: str | None = None
    periods: list[Period] = field(default_factory=list)
    filters: dict[str, list[Named]] = field(default_factory=dict)  # column → what the question named
    top: int | None = None
    ascending: bool = False
    notes: list[str] = field(default_factory=list)  # what the parser clamped, said next to the answer

    @property
    def dimension(self) -> str | None:
        return self.dimensions[0] if self.dimensions else None

    @property
    def compared(self) -> str | None:
        """The column whose named things are compared side by side ("opus vs sonnet"), if any."""
        return next((column for column, named in self.filters.items() if len(named) > 1), None)

    def group_columns(self) -> list[str]:
        columns = list(self.dimensions)
        if self.compared and self.compared not in columns:
            columns.insert(0, self.compared)
        return columns

    def words(self, first_day: date | None = None, last_day: date | None = None) -> str:
        """What was answered, in words: metric, window, filters, grouping and order."""
        parts = [self.label or self.metric.replace("_", " ")]
        if len(self.periods) > 1:
            parts.append("periods compared: " + " vs ".join(period.words() for period in self.periods))
        elif self.periods:
            parts.append("window: " + self.periods[0].words())
        elif first_day is not None and last_day is not None:
            parts.append(f"window: all data ({first_day} to {last_day})")
        else:
            parts.append("window: all data")
        for column, named in sorted(self.filters.items()):
            label = _column_label(column)
            joined = " vs ".join(item.words() for item in named)
            parts.append(f"{'compared' if len(named) > 1 else 'filter'}: {label} {joined}")
        if self.grain:
            parts.append(f"per {self.grain}")
        if self.dimensions:
            parts.append("by " + " and ".join(_column_label(column) for column in self.dimensions))
        if self.top:
            order = "lowest first" if self.ascending else "highest first"
            parts.append(f"top {self.top} ({order})")
        return "; ".join(parts)


class NotUnderstood(ValueError):
    """The offline parser cannot answer this question (the message says which part)."""


def parse(question: str, today: date, known_values: dict[str, list[str]]) -> ParsedQuestion:
    if len(question) > MAX_QUESTION_CHARS:
        raise NotUnderstood(f"the question is longer than {MAX_QUESTION_CHARS:,} characters")
    text = _Text(question)
    notes: list[str] = []
    periods = _periods(text, today, notes)
    top, ascending = _top_n(text, notes)
    named = _named_things(text, known_values)
    metric = _metric(text)
    columns = table_dimensions(metric.table)
    parsed = ParsedQuestion(
        metric.name, metric.table, metric.expression, metric.unit, metric.label, periods=periods, notes=notes
    )
    parsed.top, parsed.ascending = top, ascending
    parsed.filters = _applicable(named, columns, metric, _columns_named(text.text))
    parsed.grain = _grain(text)
    parsed.dimensions = _dimensions(text, columns, metric)
    _check_every_word_used(text)
    _check_periods(parsed.periods, text.text)
    for named in parsed.filters.values():
        values = [value for item in named for value in item.values]
        if len(values) != len(set(values)):
            shown = " and ".join(f"“{item.label}”" for item in named)
            raise NotUnderstood(f"{shown} overlap (a row in both would count for one only); compare separate things")
    if sum(len(named) > 1 for named in parsed.filters.values()) > 1:
        raise NotUnderstood("compare one kind of thing at a time (models, or users, or teams …), not two")
    if re.search(r"\b(vs|versus|compare|compared|against)\b", text.text) and not (
        parsed.compared or len(parsed.periods) > 1
    ):
        raise NotUnderstood("a comparison needs two of the same kind: two periods, models, users, teams or projects")
    if parsed.top and not parsed.group_columns():
        raise NotUnderstood("a top-N question needs something to rank: users, projects, models, …")
    if parsed.top and (parsed.grain or len(parsed.periods) > 1):
        raise NotUnderstood("a top-N question ranks one period; ask the trend or the comparison separately")
    return parsed


class _Text:
    """The normalised question and which of its characters a recognised part has claimed."""

    def __init__(self, question: str) -> None:
        text = question.lower().strip().rstrip("?.!")
        text = re.sub(r"[,;:()\[\]{}?!\"“”]", " ", text)
        text = re.sub(r"(?<=\w)['’]s\b", " s", text)  # opus's → opus s ("s" is filler)
        self.text = " " + re.sub(r"\s+", " ", text) + " "
        self.used = bytearray(len(self.text))

    def free(self, start: int, end: int) -> bool:
        return not any(self.used[start:end])

    def claim(self, start: int, end: int) -> None:
        self.used[start:end] = b"\x01" * (end - start)

    def matches(self, pattern: str):
        """Matches of `pattern` on characters no other part has claimed."""
        for match in re.finditer(pattern, self.text):
            if self.free(match.start(), match.end()):
                yield match

    def leftover(self) -> list[str]:
        rest = "".join(" " if used else character for character, used in zip(self.text, self.used, strict=True))
        return WORD.findall(rest)


def _check_every_word_used(text: _Text) -> None:
    unknown = [word for word in text.leftover() if word.strip("'’-.") and word.strip("'’-.") not in FILLER]
    if unknown:
        shown = " ".join(unknown)[:120]
        raise NotUnderstood(
            f"I did not understand “{shown}”, so I did not answer: leaving it out could change the answer "
            "(if it names a model, user, team or project, it is not one in your data)"
        )


def _check_periods(periods: list[Period], text: str) -> None:
    """Several periods are a comparison: said as one ("vs", "compare", "and"), and without overlap (a day in two
    periods would count in only one of them)."""
    if len(periods) < 2:
        return
    if len(periods) > MAX_PERIODS:
        raise NotUnderstood(f"at most {MAX_PERIODS} periods can be compared in one question")
    named = " and ".join(f"“{period.label}”" for period in periods)
    if not re.search(r"\b(vs|versus|compare|compared|against|and)\b", text):
        raise NotUnderstood(f"the question names two periods ({named}); ask for one, or compare them with “vs”")
    for index, period in enumerate(periods):
        for other in periods[index + 1 :]:
            if period.start <= other.end and other.start <= period.end:
                raise NotUnderstood(f"the periods {named} overlap; compare periods that do not share days")


def _top_n(text: _Text, notes: list[str]) -> tuple[int | None, bool]:
    """ "top 5", "bottom 2", "the most", "highest", "least": (N, lowest first?)."""
    for match in text.matches(r"\b(top|bottom)\s+([-+]?\d[\d,.^e*]*)?"):
        text.claim(match.start(), match.end())
        return _top(match.group(2), notes), match.group(1) == "bottom"
    for match in text.matches(r"\b(?:the\s+)?(most|highest|biggest|largest|greatest|least|lowest|smallest|fewest)\b"):
        text.claim(match.start(), match.end())
        return 1, match.group(1) in ("least", "lowest", "smallest", "fewest")
    return None, False


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


def _metric(text: _Text) -> Metric:
    """The metric the question names (longest synonym first); two different metrics are refused, not dropped."""
    synonyms = sorted(
        ((word, name) for name, metric in askable_metrics().items() for word in metric.synonyms),
        key=lambda item: -len(item[0]),
    )
    found: list[str] = []
    for word, name in synonyms:
        for match in text.matches(rf"(?<![\w-]){re.escape(word)}s?(?![\w-])"):
            text.claim(match.start(), match.end())
            if name not in found:
                found.append(name)
    if not found:
        raise NotUnderstood(
            "no metric I know (" + ", ".join(name.replace("_", " ") for name in askable_metrics()) + ")"
        )
    if len(found) > 1:
        names = " and ".join(askable_metrics()[name].label for name in found)
        raise NotUnderstood(f"the question names two metrics ({names}); ask one at a time")
    return askable_metrics()[found[0]]


def _column_label(column: str) -> str:
    return next((dimension.name for dimension in DIMENSIONS.values() if dimension.column == column), column)


def _column_words(column: str) -> list[str]:
    return [word for word, name in dimension_words().items() if name == column]


def model_aliases(models: list[str]) -> dict[str, tuple[str, ...]]:
    """Words a question may use for models: the family words of their names ("opus", "sonnet", "gpt") → every
    model of that family, and each name without its date suffix or vendor prefix → that model."""
    aliases: dict[str, set[str]] = {}
    for model in models:
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*", model):
            continue  # `<synthetic>` and the like name no family
        base = re.sub(r"-\d{8}$", "", model)
        short = re.sub(r"^claude-", "", base)
        dotted = re.sub(r"(\d)-(\d)", r"\1.\2", short)  # sonnet-4-5 → sonnet-4.5
        spelled = {base, short, dotted, re.sub(r"(\d)-(\d)", r"\1.\2", base), dotted.replace("-", " ")}
        for alias in spelled:
            if alias != model:
                aliases.setdefault(alias, set()).add(model)
        for part in re.findall(r"[a-z]{3,}", model):
            if part not in GENERIC_MODEL_WORDS and part not in FILLER:
                aliases.setdefault(part, set()).add(model)
    return {alias: tuple(sorted(values)) for alias, values in aliases.items() if alias not in models}


@dataclass
class _Mention:
    start: int
    end: int
    readings: dict[str, Named]  # column → what it means there


def _named_things(text: _Text, known_values: dict[str, list[str]]) -> list[_Mention]:
    """Every known value (and model family word) the question names, longest first, each with its readings."""
    spans: dict[tuple[int, int], dict[str, Named]] = {}
    candidates: list[tuple[str, str, tuple[str, ...]]] = []
    for column, values in known_values.items():
        candidates += [(value.lower(), column, (value,)) for value in values if value]
    for column in ("model", "target_model"):
        for alias, models in model_aliases(known_values.get(column, [])).items():
            candidates.append((alias, column, models))
    for word, column, values in candidates:
        for match in re.finditer(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text.text):
            spans.setdefault((match.start(), match.end()), {}).setdefault(column, Named(word, values))
    mentions = []
    for (start, end), readings in sorted(spans.items(), key=lambda item: (item[0][0] - item[0][1], item[0][0])):
        if not text.free(start, end):
            continue
        start = _claim_column_word(text, start, readings)
        text.claim(start, end)
        mentions.append(_Mention(start, end, readings))
    return sorted(mentions, key=lambda mention: mention.start)


def _claim_column_word(text: _Text, start: int, readings: dict[str, Named]) -> int:
    """ "team acme-web", "model opus": a dimension word just before a value says which column it is."""
    before = text.text[:start]
    for column in list(readings):
        for word in sorted(_column_words(column), key=len, reverse=True):
            match = re.search(rf"(?<![\w-]){re.escape(word)}s?\s+$", before)
            if match and text.free(match.start(), start):
                for other in [name for name in readings if name != column]:
                    del readings[other]
                return match.start()
    return start


def _columns_named(text: str) -> set[str]:
    """The columns whose dimension words occur anywhere in the question ("spend by org for acme": org)."""
    return {
        column
        for word, column in dimension_words().items()
        if re.search(rf"(?<![\w-]){re.escape(word)}(?:s|es)?(?![\w-])", text)
    }


def _applicable(
    mentions: list[_Mention], columns: set[str], metric: Metric, named_columns: set[str]
) -> dict[str, list[Named]]:
    """Each named thing as a filter on one column of the metric's table; a name the table cannot filter by, or
    one with several readings that the question's words do not settle, is refused in words."""
    filters: dict[str, list[Named]] = {}
    for mention in mentions:
        readings = {column: named for column, named in mention.readings.items() if column in columns}
        if len(readings) > 1 and len(settled := readings.keys() & named_columns) == 1:
            readings = {column: readings[column] for column in settled}
        if "provider" in readings and "model" in readings and readings["model"].label == readings["provider"].label:
            del readings["model"]  # "deepseek": the provider's models are the family's
        if "model" in readings and "target_model" in readings:
            del readings["target_model"]  # a table with both: the model that answered
        word = next(iter(mention.readings.values())).label
        if not readings:
            kinds = " or ".join(_column_label(column) for column in mention.readings)
            raise NotUnderstood(f"{metric.label.lower()} cannot be filtered by {kinds} (“{word}”)")
        if len(readings) > 1:
            choices = " or ".join(f"“{_column_label(column)} {word}”" for column in readings)
            raise NotUnderstood(f"“{word}” names several things; say which: {choices}")
        column, named = next(iter(readings.items()))
        if named not in filters.setdefault(column, []):
            filters[column].append(named)
    return filters


def _dimensions(text: _Text, columns: set[str], metric: Metric) -> list[str]:
    """The columns to group by ("by model", "per user", "which project", "top 3 teams", "who"), in the order the
    question names them; "all teams" groups by nothing (every team, no filter); a dimension the metric's table does
    not carry is refused."""
    words = dimension_words()
    found: list[tuple[int, str]] = []
    for word in sorted(words, key=len, reverse=True):
        column = words[word]
        plural = rf"(?<![\w-]){re.escape(word)}(?:s|es)?(?![\w-])"
        for match in text.matches(rf"\ball (?:the )?{plural}"):
            text.claim(match.start(), match.end())
        for match in text.matches(plural):
            if column not in columns:
                raise NotUnderstood(f"{metric.label.lower()} cannot be broken down by {_column_label(column)}")
            text.claim(match.start(), match.end())
            if column not in (existing for _, existing in found):
                found.append((match.start(), column))
    if "user_id" in columns:
        for match in text.matches(r"\bwho\b"):
            text.claim(match.start(), match.end())
            if "user_id" not in (existing for _, existing in found):
                found.append((match.start(), "user_id"))
    if len(found) > MAX_DIMENSIONS:
        raise NotUnderstood(f"break an answer down by at most {MAX_DIMENSIONS} things at once")
    return [column for _, column in sorted(found)]


def _grain(text: _Text) -> str | None:
    grain = None
    for match in text.matches(r"\b(?:per|by|each|every)\s+(day|week|month)\b|\b(daily|weekly|monthly)\b"):
        text.claim(match.start(), match.end())
        grain = GRAINS[match.group(1) or match.group(2)]
    for match in text.matches(r"\b(?:trend|trends|over time|time series)\b"):
        text.claim(match.start(), match.end())
        grain = grain or "day"
    return grain


def _periods(text: _Text, today: date, notes: list[str]) -> list[Period]:
    month_start = today.replace(day=1)
    last_month_end = month_start - timedelta(days=1)
    week_start = today - timedelta(days=today.weekday())
    named = {
        "today": Period(today, today, "today"),
        "yesterday": Period(today - timedelta(days=1), today - timedelta(days=1), "yesterday"),
        "this week": Period(week_start, today, "this week"),
        "last week": Period(week_start - timedelta(days=7), week_start - timedelta(days=1), "last week"),
        "this month": Period(month_start, today, "this month"),
        "last month": Period(last_month_end.replace(day=1), last_month_end, "last month"),
        "this year": Period(today.replace(month=1, day=1), today, "this year"),
        "last year": Period(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31), "last year"),
    }
    found: list[tuple[int, Period]] = []

    def add(match: re.Match, period: Period) -> None:
        text.claim(match.start(), match.end())
        found.append((match.start(), period))

    for match in text.matches(r"\bbetween (\d+-\d+-\d+) and (\d+-\d+-\d+)\b"):
        start, end = _day(match.group(1)), _day(match.group(2))
        if start > end:
            raise NotUnderstood(f"{match.group(1)} is after {match.group(2)}")
        add(match, Period(start, end, f"{match.group(1)} to {match.group(2)}"))
    for match in text.matches(r"\bsince (\d+-\d+-\d+)\b"):
        add(match, Period(_day(match.group(1)), today, f"since {match.group(1)}"))
    for match in text.matches(r"\b(?:on |for )?(\d+-\d+-\d+)\b"):
        day = _day(match.group(1))
        add(match, Period(day, day, match.group(1)))
    for match in text.matches(
        r"\b(?:in the |over the |during the )?(?:last|past|previous)\s+(-?\d+)\s+(day|week|month)s?\b"
    ):
        count, unit = match.group(1), match.group(2)
        if not count.isdigit() or _whole(count) == 0:
            raise NotUnderstood(f"“{match.group(0).strip()}” is not a period; ask for the last 1 or more {unit}s")
        days = _whole(count) * {"day": 1, "week": 7, "month": 30}[unit]
        label = f"last {count} {unit}s" if count != "1" else f"last 1 {unit}"
        if days > MAX_LOOKBACK_DAYS:
            notes.append(f"“{label[:60]}” reaches back too far; showing the last {MAX_LOOKBACK_DAYS:,} days.")
            days, label = MAX_LOOKBACK_DAYS, f"last {MAX_LOOKBACK_DAYS} days"
        add(match, Period(today - timedelta(days=days - 1), today, label))
    for phrase, period in named.items():
        for match in text.matches(rf"\b{phrase}\b"):
            add(match, period)
    month_names = "|".join(MONTHS)
    for match in text.matches(rf"\b(?:({month_names})|(?:in |for |of )?month (\d+))(?:\s+(\d+))?\b"):
        month = MONTHS[match.group(1)] if match.group(1) else _whole(match.group(2))
        if not 1 <= month <= 12:
            raise NotUnderstood(f"there is no month {match.group(2)[:12]}; months run from 1 to 12")
        digits = match.group(3) or ""
        if len(digits) > 2:  # a year (one or two digits are a day of the month: not understood, below)
            year = _whole(digits)
            if len(digits) != 4 or year not in YEARS:
                raise NotUnderstood(f"{digits[:12]} is not a year I can answer for ({YEARS.start}–{YEARS.stop - 1})")
            text.claim(match.start(), match.end())
        else:
            year = today.year if month <= today.month else today.year - 1
            text.claim(match.start(), match.start(3) if digits else match.end())
        name = calendar.month_name[month].lower()
        end = date(year, month, calendar.monthrange(year, month)[1])
        found.append((match.start(), Period(date(year, month, 1), min(end, today), f"{name} {year}")))
    found.sort(key=lambda item: item[0])
    periods, seen = [], set()
    for _, period in found:
        if (period.start, period.end) not in seen:
            seen.add((period.start, period.end))
            periods.append(period)
    return periods


def to_sql(parsed: ParsedQuestion) -> tuple[str, dict]:
    """One SELECT with bound parameters (named values and dates never enter the SQL text; only column names from
    the registry and parameter names do)."""
    params: dict = {}
    conditions = []
    labels: dict[str, str] = {}  # compared column → its CASE expression (when a name stands for several values)
    for column, named in sorted(parsed.filters.items()):
        labelled = (
            len(named) > 1 and column not in parsed.dimensions and any(item.values != (item.label,) for item in named)
        )
        placeholders, cases = [], []
        for item in named:
            own = []
            for value in item.values:
                key = f"{column}_{len(params)}"
                params[key] = value
                own.append(f"${key}")
            placeholders += own
            if labelled:
                label_key = f"{column}_label_{len(params)}"
                params[label_key] = item.label
                cases.append(f"when {column} in ({', '.join(own)}) then ${label_key}")
        conditions.append(f"{column} in ({', '.join(placeholders)})")
        if labelled:
            labels[column] = f"case {' '.join(cases)} end"
    compare = len(parsed.periods) >= 2
    if parsed.periods and not compare:
        conditions.append("day between $start_day and $end_day")
        params |= {"start_day": parsed.periods[0].start, "end_day": parsed.periods[0].end}
    select, group = [], []
    if compare:
        cases = []
        for index, period in enumerate(parsed.periods):
            params |= {f"p{index}_start": period.start, f"p{index}_end": period.end, f"p{index}_label": period.label}
            cases.append(f"when day between $p{index}_start and $p{index}_end then $p{index}_label")
        select.append(f"case {' '.join(cases)} end as period")
        group.append("period")
        within = " or ".join(f"day between $p{index}_start and $p{index}_end" for index in range(len(parsed.periods)))
        conditions.append(f"({within})")
    if parsed.grain:
        bucket = "day" if parsed.grain == "day" else f"cast(date_trunc('{parsed.grain}', day) as date)"
        select.append(f"{bucket} as {parsed.grain}")
        group.append(parsed.grain)
    for column in parsed.group_columns():
        select.append(f"{labels[column]} as {column}" if column in labels else column)
        group.append(column)
    value_name = parsed.metric
    select.append(f"{parsed.expression} as {value_name}")
    sql = f"select {', '.join(select)} from marts.{parsed.table}"
    if conditions:
        sql += " where " + " and ".join(conditions)
    if group:
        sql += " group by " + ", ".join(group)
    ties = "".join(f", {column}" for column in group)  # equal values in a stable order: same question, same answer
    if parsed.top:
        direction = "asc" if parsed.ascending else "desc"
        sql += f" order by {value_name} {direction} nulls last{ties} limit {int(parsed.top)}"
    elif parsed.grain:
        sql += " order by " + ", ".join(group)
    elif compare:
        sql += " order by min(day)" + "".join(f", {column}" for column in parsed.group_columns())
    elif parsed.compared and not parsed.dimensions:
        sql += " order by " + ", ".join(parsed.group_columns())
    elif group:
        sql += f" order by {value_name} desc nulls last{ties}"
    return sql, params
