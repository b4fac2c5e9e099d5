"""Sending a message: apprise for chat and the many services it knows (slack://, msteams://, discord://, json://,
…), the configured SMTP server for plain email addresses."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from urllib.parse import urlsplit

from aioa.settings import Settings
from aioa.webhooks.urls import DisallowedUrl, is_loopback

# apprise schemes that post to an arbitrary host: the same rule as webhooks (secure, or this machine only)
_PLAIN_HTTP_SCHEMES = {"json", "form", "xml", "http"}


def check_channel(url: str) -> str:
    """An apprise URL apprise understands and we allow; DisallowedUrl or ValueError with the reason."""
    import apprise

    parts = urlsplit(url)
    if parts.scheme in _PLAIN_HTTP_SCHEMES and not is_loopback(parts.hostname or ""):
        raise DisallowedUrl(
            f"channel {redact(url)!r} is not allowed: {parts.scheme}:// sends in the clear; use "
            f"{parts.scheme}s:// (or {parts.scheme}:// only to 127.0.0.1/localhost)"
        )
    if apprise.Apprise.instantiate(url) is None:
        raise ValueError(f"channel {redact(url)!r} is not an apprise URL apprise can use (see apprise's wiki)")
    return url


def redact(url: str) -> str:
    """Scheme and host only: channel URLs carry tokens."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}" if parts.scheme else "email"


def send_apprise(url: str, title: str, body: str) -> None:
    import apprise

    sender = apprise.Apprise()
    if not sender.add(url):
        raise ValueError(f"apprise refused {redact(url)}")
    if not sender.notify(title=title, body=body):
        raise RuntimeError(f"apprise could not deliver to {redact(url)}")


def send_email(
    settings: Settings,
    to: list[str],
    subject: str,
    body: str,
    *,
    attachments: list[tuple[str, bytes, str]] = (),
) -> None:
    """Email through AIOA_SMTP_HOST; attachments are (file name, bytes, MIME type)."""
    if not settings.smtp_host:
        raise RuntimeError("no SMTP server configured: set AIOA_SMTP_HOST (and AIOA_SMTP_PORT, AIOA_SMTP_FROM)")
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = settings.smtp_from, ", ".join(to), subject
    message.set_content(body)
    for name, content, mime in attachments:
        main, _, sub = mime.partition("/")
        message.add_attachment(content, maintype=main, subtype=sub, filename=name)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_username:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            smtp.login(settings.smtp_username, password)
        smtp.send_message(message)
