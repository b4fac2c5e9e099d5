"""Alembic environment for the identity store: configured in code by `aioa.identity.store` (no alembic.ini); runs
on the connection it is handed, inside that connection's transaction."""

from __future__ import annotations

from alembic import context

from aioa.analytics import kpi_models as _kpi_models  # noqa: F401 - user-defined KPIs per team, same metadata
from aioa.collab import models as _collab_models  # noqa: F401 - annotations and saved views, same metadata
from aioa.dashboards import models as _dashboard_models  # noqa: F401 - My dashboard layouts, same metadata
from aioa.identity.models import Base
from aioa.reports.render import models as _report_models  # noqa: F401 - saved report templates, same metadata
from aioa.rules import models as _rules_models  # noqa: F401 - the rules engine's tables, same metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
