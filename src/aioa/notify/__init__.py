"""Notifications: the message an incident sends, and the channels it goes through (apprise, SMTP email)."""
