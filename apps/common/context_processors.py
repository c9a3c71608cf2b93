"""Template context shared by every page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from apps.common.health import broker_reachable


def broker_down() -> bool:
    return not broker_reachable()


def background_status(request: HttpRequest) -> dict[str, Any]:
    """``broker_down`` for the banner of ``base.html``: a callable, so the (cached) check runs
    only when a template shows it, never for htmx fragments or anonymous pages that don't."""
    return {"broker_down": broker_down}
