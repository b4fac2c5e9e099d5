"""The generated world: orgs, teams, users, projects, calendar and the attribution file that maps them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import yaml

END_DAY = date(2026, 11, 20)
HOLIDAYS = {date(2026, 9, 7), date(2026, 10, 12), date(2026, 11, 11)}
# Monthly budgets are sized to the small sample's spend (acme well under, initech near, globex over), so that the
# month-end projections have something to say.
ORGS = {
    "acme": ("Acme Corp", 40, ["acme-platform", "acme-web"]),
    "globex": ("Globex", 100, ["globex-data", "globex-ml"]),
    "initech": ("Initech", 12, ["initech-core", "initech-ops"]),
}
# user -> (org, team, activity weight); `zoe` is deliberately unmapped (lands in the default org).
USERS = {
    "alice": ("acme", "acme-platform", 1.6),
    "arjun": ("acme", "acme-platform", 1.0),
    "amara": ("acme", "acme-web", 1.2),
    "andre": ("acme", "acme-web", 0.7),
    "greta": ("globex", "globex-data", 1.3),
    "gabe": ("globex", "globex-data", 0.8),
    "gina": ("globex", "globex-ml", 1.1),
    "ivan": ("initech", "initech-core", 0.9),
    "ines": ("initech", "initech-ops", 0.6),
    "zoe": (None, None, 0.5),
}
OTEL_USERS = {"olga": ("initech", "initech-core"), "omar": ("initech", "initech-ops"), "otto": ("globex", "globex-ml")}
# project -> (org, team, group); `scratch` is deliberately unmapped.
PROJECTS = {
    "checkout-api": ("acme", "acme-web", "checkout"),
    "checkout-web": ("acme", "acme-web", "checkout"),
    "platform-infra": ("acme", "acme-platform", "platform"),
    "billing": ("acme", "acme-platform", "billing"),
    "etl-pipelines": ("globex", "globex-data", "data-platform"),
    "feature-store": ("globex", "globex-ml", "data-platform"),
    "recsys": ("globex", "globex-ml", "recsys"),
    "core-ledger": ("initech", "initech-core", "ledger"),
    "ops-runbooks": ("initech", "initech-ops", "ops"),
    "scratch": (None, None, None),
}
USER_PROJECTS = {
    "alice": ["platform-infra", "billing", "checkout-api"],
    "arjun": ["platform-infra", "billing"],
    "amara": ["checkout-api", "checkout-web"],
    "andre": ["checkout-web"],
    "greta": ["etl-pipelines", "feature-store"],
    "gabe": ["etl-pipelines"],
    "gina": ["feature-store", "recsys"],
    "ivan": ["core-ledger"],
    "ines": ["ops-runbooks", "core-ledger"],
    "zoe": ["scratch", "checkout-web"],
}


@dataclass(frozen=True)
class Calendar:
    days: list[date]

    @classmethod
    def ending(cls, end: date, length: int) -> Calendar:
        return cls([end - timedelta(days=offset) for offset in range(length - 1, -1, -1)])

    def volume(self, day: date) -> float:
        """Expected activity: weekly seasonality, linear growth over the period, holidays near zero."""
        if day in HOLIDAYS:
            return 0.05
        weekday = (1.0, 1.1, 1.1, 1.05, 0.85, 0.2, 0.12)[day.weekday()]
        return weekday * self.growth(day)

    def growth(self, day: date) -> float:
        """Linear growth over the period: 0.6 on the first day to 1.4 on the last."""
        return 0.6 + 0.8 * self.days.index(day) / max(len(self.days) - 1, 1)


def cwd_for(user: str, project: str, variant: int) -> str:
    base = f"/home/{user}/src/{project}"
    if variant == 1:
        return f"{base}/services/api"
    if variant == 2:
        return f"/home/{user}/src/{project}-worktrees/feature-{variant}"
    return base


def attribution_yaml() -> str:
    # Orgs that run their own OTel collector may be named by its records (`organization.id`); no other claim is
    # trusted (the handoff logs name no org).
    # Each mapped user's Claude config dir is bound to the user's org (wherever the sample is written): what its
    # transcripts say (a cwd in another user's home) cannot move their rows to another org. The OTel and handoff
    # folders mix orgs (one shared collector), so they stay unbound.
    otel_orgs = {org for org, _ in OTEL_USERS.values()}
    config_dirs = {
        org: [f"*/claude-code/{user}/.claude/*" for user, (owner, _, _) in USERS.items() if owner == org]
        for org in ORGS
    }
    orgs = [
        {
            "id": org,
            "name": name,
            "monthly_budget_usd": budget,
            "teams": [{"id": team, "name": team.split("-", 1)[1].title()} for team in teams],
            **({"accept_claims_from": ["otel"]} if org in otel_orgs else {}),
            "sources": [{"system": "claude_code", "paths": config_dirs[org]}],
        }
        for org, (name, budget, teams) in ORGS.items()
    ]
    users = [
        {
            "id": user,
            "org": org,
            "team": team,
            "name": user.title(),
            "email": f"{user}@{org}.example",
            "match": {
                "homes": [f"/home/{user}"],
                "config_dirs": [f"claude-code/{user}/.claude"],
                "names": [user, f"{user}@{org}.example"],
            },
        }
        for user, (org, team, _) in USERS.items()
        if org
    ]
    users += [
        {
            "id": user,
            "org": org,
            "team": team,
            "email": f"{user}@{org}.example",
            "match": {"names": [user, f"{user}@{org}.example"]},
        }
        for user, (org, team) in OTEL_USERS.items()
    ]
    projects = [
        {
            "id": project,
            "org": org,
            "team": team,
            "group": group,
            "match": {"cwd": [f"*/{project}", f"*/{project}/*", f"*/{project}-worktrees/*"], "names": [project]},
        }
        for project, (org, team, group) in PROJECTS.items()
        if org
    ]
    return yaml.safe_dump(
        {"default_org": "default", "orgs": orgs, "users": users, "projects": projects}, sort_keys=False
    )
