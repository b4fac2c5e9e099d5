"""Dashboards people arrange themselves: the widget layouts saved per user in the identity store."""
