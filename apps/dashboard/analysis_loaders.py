"""Typed, cached loaders of the deep-analytics pages (behaviour, lifecycle, workflow patterns, comparisons, KPIs):
keyed like `loaders.py` by snapshot version, filters and tenant scope, read through the same timed reader."""

from __future__ import annotations

import loaders
import pandas as pd
import streamlit as st

from aioa.analytics import Filters, behaviour, compare, kpi_formula
from aioa.warehouse.access import TenantScope

CACHE = loaders.CACHE


def _reader(version: str):
    return loaders._reader(version)  # the snapshot's (or the server's) timed reader, shared with loaders.py


@st.cache_data(**CACHE)
def active_hours(
    version: str, filters: Filters, scope: TenantScope, member: tuple[str, str] | None = None
) -> pd.DataFrame:
    return behaviour.active_hours(_reader(version), filters, scope, member)


@st.cache_data(**CACHE)
def behaviour_by(version: str, filters: Filters, scope: TenantScope, dimension: str) -> pd.DataFrame:
    return behaviour.behaviour_by(_reader(version), filters, scope, dimension)


@st.cache_data(**CACHE)
def models_used(version: str, filters: Filters, scope: TenantScope, dimension: str) -> pd.DataFrame:
    return behaviour.models_used(_reader(version), filters, scope, dimension)


@st.cache_data(**CACHE)
def tools_used(version: str, filters: Filters, scope: TenantScope, dimension: str) -> pd.DataFrame:
    return behaviour.tools_used(_reader(version), filters, scope, dimension)


@st.cache_data(**CACHE)
def project_phases(version: str, filters: Filters, scope: TenantScope) -> pd.DataFrame:
    return behaviour.project_phases(_reader(version), filters, scope)


@st.cache_data(**CACHE)
def workflow_patterns(
    version: str, filters: Filters, scope: TenantScope, kind: str, lengths: tuple[int, int], min_sessions: int
) -> pd.DataFrame:
    return behaviour.workflow_patterns(
        _reader(version), filters, scope, kind=kind, lengths=lengths, min_sessions=min_sessions
    )


@st.cache_data(**CACHE)
def compare_periods(version: str, filters: Filters, scope: TenantScope) -> compare.Compared:
    return compare.compare_periods(_reader(version), filters, scope)


@st.cache_data(**CACHE)
def compare_groups(
    version: str, filters: Filters, scope: TenantScope, group: str, first: str, second: str
) -> compare.Compared:
    return compare.compare_groups(_reader(version), filters, scope, group, first, second)


@st.cache_data(**CACHE)
def kpi_values(version: str, formula: str, filters: Filters, scope: TenantScope, by: str | None) -> pd.DataFrame:
    return kpi_formula.kpi_values(_reader(version), kpi_formula.parse_formula(formula), filters, scope, by)
