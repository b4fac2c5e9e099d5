"""Savings questions ("how much would we save routing more to deepseek", "what if we moved half of opus to haiku",
"what if the router threshold were 0.6") answered by the what-if engine (ml/forecasting/whatif.py) over the
caller's last 28 days of usage, or declined in words when a part of them has no place in it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from aioa.ask.offline import FILLER, Named, NotUnderstood, _named_things, _Text

RECENT_DAYS = 28  # the window recent_model_usage() re-costs
DEFAULT_SHARES = (0.25, 0.5, 1.0)  # shown when the question does not say how much moves
WHAT_IF = re.compile(r"\b(would|could|what if|if we|if i|what happens)\b")
MOVE = re.compile(r"\b(rout\w*|mov\w*|switch\w*|shift\w*|send\w*|sent|replac\w*|use|using|used|threshold)\b")
SHARES = {"half": 0.5, "a quarter": 0.25, "a third": 1 / 3, "three quarters": 0.75, "all": 1.0, "everything": 1.0}
WHAT_IF_WORDS = frozenset(
    [
        "would",
        "could",
        "if",
        "what",
        "happens",
        "save",
        "saves",
        "saving",
        "savings",
        "saved",
        "cheaper",
        "cost",
        "costs",
        "spend",
        "pay",
        "more",
        "less",
        "route",
        "routing",
        "routed",
        "router",
        "move",
        "moving",
        "moved",
        "switch",
        "switching",
        "switched",
        "shift",
        "shifting",
        "send",
        "sending",
        "sent",
        "replace",
        "replacing",
        "replaced",
        "use",
        "using",
        "used",
        "instead",
        "tokens",
        "token",
        "traffic",
        "calls",
        "work",
        "usage",
        "load",
        "requests",
        "money",
        "be",
        "it",
        "were",
        "was",
        "threshold",
        "percent",
        "share",
    ]
)
TARGET_LEAD = re.compile(r"(?:\b(?:to|onto|towards?|with|use|using|used)\s+)$")


@dataclass
class MixQuestion:
    target: Named
    sources: list[Named]  # empty: every other priced model
    share: float | None  # None: not said (DEFAULT_SHARES shown)


@dataclass
class ThresholdQuestion:
    threshold: float


def is_what_if(question: str) -> bool:
    text = question.lower()
    return bool(WHAT_IF.search(text) and MOVE.search(text))


def parse(question: str, models: list[str]) -> MixQuestion | ThresholdQuestion:
    """The scenario a savings question describes; every word must have a place in it."""
    text = _Text(question)
    if match := next(text.matches(r"\bthreshold\s+(?:of |to |at |were |was |is |= ?)?(\d*\.?\d+)\b"), None):
        text.claim(match.start(), match.end())
        value = float(match.group(1))
        if not 0 <= value <= 1:
            raise NotUnderstood(f"a router threshold is between 0 and 1, not {match.group(1)}")
        _check_words(text)
        return ThresholdQuestion(value)
    share = None
    if match := next(text.matches(r"\b(\d+(?:\.\d+)?)\s*(?:%|percent)"), None):
        text.claim(match.start(), match.end())
        share = float(match.group(1)) / 100
        if not 0 < share <= 1:
            raise NotUnderstood(f"a share of {match.group(1)}% cannot move; give 1–100%")
    for phrase, value in SHARES.items():
        if share is None and (match := next(text.matches(rf"\b{phrase}\b"), None)):
            text.claim(match.start(), match.end())
            share = value
    mentions = _named_things(text, {"model": models})
    _check_words(text)
    targets, sources = [], []
    for mention in mentions:
        named = mention.readings["model"]
        (targets if TARGET_LEAD.search(text.text[: mention.start]) else sources).append(named)
    if len(targets) != 1:
        raise NotUnderstood(
            "a savings question names one model to move work to, as in “how much would we save routing more "
            "to deepseek-chat” (models with recent priced usage: " + ", ".join(models) + ")"
        )
    if len(targets[0].values) > 1:
        raise NotUnderstood(f"“{targets[0].label}” is several models ({', '.join(targets[0].values)}); name one")
    return MixQuestion(targets[0], sources, share)


def _check_words(text: _Text) -> None:
    unknown = [word for word in text.leftover() if word.strip("'’-.?") not in FILLER | WHAT_IF_WORDS]
    if unknown:
        raise NotUnderstood(
            f"I did not understand “{' '.join(unknown)[:120]}” in a savings question, so I did not answer. "
            f"The what-if re-costs all your usage of the last {RECENT_DAYS} days; it takes the model to move work "
            "to, the model(s) to move it from and a share (“half”, “30%”), not periods, users or projects"
        )


def window(today: date) -> tuple[date, date]:
    return today - timedelta(days=RECENT_DAYS - 1), today


def mix_savings(usage: pd.DataFrame, scenario: MixQuestion) -> pd.DataFrame:
    """Per source model and share: recent cost, what-if cost and saving (summed over the caller's orgs)."""
    from ml.forecasting.whatif import WhatIfError, mix_cost_ratio, priced_models

    target = scenario.target.values[0]
    sources = [value for named in scenario.sources for value in named.values] or [
        model for model in priced_models(usage) if model != target
    ]
    shares = [scenario.share] if scenario.share is not None else list(DEFAULT_SHARES)
    rows = []
    for source in sources:
        for share in shares:
            try:
                frame = mix_cost_ratio(usage, source, target, share)
            except WhatIfError as error:
                raise NotUnderstood(str(error)) from None
            recent, what_if = frame["recent_cost_usd"].sum(), frame["what_if_recent_cost_usd"].sum()
            rows.append(
                {
                    "from_model": source,
                    "to_model": target,
                    "share_moved": share,
                    "recent_cost_usd": recent,
                    "what_if_cost_usd": what_if,
                    "saving_usd": recent - what_if,
                }
            )
    if not rows:
        raise NotUnderstood(f"there is no priced usage of other models in the last {RECENT_DAYS} days to move")
    return pd.DataFrame(rows)


def threshold_savings(usage: pd.DataFrame, scenario: ThresholdQuestion, settings) -> pd.DataFrame:
    from ml.forecasting.whatif import WhatIfError, champion_router, routing_cost_ratio

    try:
        evaluation, scores = champion_router(settings)
        frame = routing_cost_ratio(usage, evaluation, scores, scenario.threshold)
    except WhatIfError as error:
        raise NotUnderstood(str(error)) from None
    recent, what_if = frame["recent_cost_usd"].sum(), frame["what_if_recent_cost_usd"].sum()
    return pd.DataFrame(
        [
            {
                "router_threshold": scenario.threshold,
                "champion_threshold": evaluation["threshold"],
                "strong_share_now": frame["strong_share_now"].iloc[0],
                "strong_share_what_if": frame["strong_share_what_if"].iloc[0],
                "quality_what_if": frame["quality_what_if"].iloc[0],
                "recent_cost_usd": recent,
                "what_if_cost_usd": what_if,
                "saving_usd": recent - what_if,
            }
        ]
    )


def _money(value: float) -> str:
    return f"-${-value:,.2f}" if value < 0 else f"${value:,.2f}"


def _saving_words(saving: float, recent: float) -> str:
    share = f" ({abs(saving) / recent:.1%} of it)" if recent else ""
    if saving >= 0:
        return f"a saving of {_money(saving)}{share}"
    return f"{_money(-saving)} more{share}"


def mix_sentence(rows: pd.DataFrame, scenario: MixQuestion, first: date, last: date) -> tuple[str, str]:
    """(answer, what was computed in words)."""
    target = scenario.target.values[0]
    understood = (
        f"what-if: work moved to {target}, re-costed at its recent per-token cost; window: the last {RECENT_DAYS} "
        f"days ({first} to {last}); from: "
        + (", ".join(named.words() for named in scenario.sources) or "each other priced model, one at a time")
        + "; share moved: "
        + (f"{scenario.share:.0%}" if scenario.share is not None else "not given, so 25%, 50% and 100% are shown")
    )
    caveat = f" This is cost only: whether {target} does those tasks as well is on the Routing page."
    if scenario.sources and scenario.share is not None:
        recent = rows["recent_cost_usd"].iloc[0]
        saving = rows["saving_usd"].sum()
        moved = ", ".join(named.words() for named in scenario.sources)
        return (
            f"Moving {scenario.share:.0%} of {moved}'s tokens to {target} over {first} to {last} would have cost "
            f"{_money(recent - saving)} instead of {_money(recent)}: {_saving_words(saving, recent)}." + caveat,
            understood,
        )
    best = rows.sort_values("saving_usd", ascending=False).iloc[0]
    return (
        f"Over {first} to {last} (recent spend {_money(best['recent_cost_usd'])}), the largest saving is from moving "
        f"{best['share_moved']:.0%} of {best['from_model']}'s tokens to {target}: "
        f"{_saving_words(best['saving_usd'], best['recent_cost_usd'])}; every option is in the table." + caveat,
        understood,
    )


def threshold_sentence(rows: pd.DataFrame, first: date, last: date) -> tuple[str, str]:
    row = rows.iloc[0]
    understood = (
        f"what-if: the champion router's threshold {row['champion_threshold']:.3f} → {row['router_threshold']:g}; "
        f"window: the last {RECENT_DAYS} days ({first} to {last})"
    )
    return (
        f"With a router threshold of {row['router_threshold']:g}, the strong model's share goes from "
        f"{row['strong_share_now']:.0%} to {row['strong_share_what_if']:.0%} (expected quality "
        f"{row['quality_what_if']:.1%}); recent spend {_money(row['what_if_cost_usd'])} instead of "
        f"{_money(row['recent_cost_usd'])}: {_saving_words(row['saving_usd'], row['recent_cost_usd'])}.",
        understood,
    )
