"""Warehouse access: connections, schema, and the data-access layer every reader goes through."""

from aioa.warehouse.connection import connect, ensure_schema

__all__ = ["connect", "ensure_schema"]
