"""A logged-in HTTP session against a real web process (gunicorn), with Django's CSRF token."""

from __future__ import annotations

import time

import requests
from django.conf import settings
from django.test import Client

BANNER = "Background workers are unreachable"


class Browser:
    def __init__(self, base_url: str, session_key: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        self.http.cookies.set(settings.SESSION_COOKIE_NAME, session_key)
        self.seconds = 0.0  # how long the last request took

    @classmethod
    def logged_in(cls, base_url: str, user) -> Browser:  # type: ignore[no-untyped-def]
        """A session of ``user`` created in this process's database (the web process's too)."""
        client = Client()
        client.force_login(user)
        return cls(base_url, client.cookies[settings.SESSION_COOKIE_NAME].value)

    def get(self, path: str) -> requests.Response:
        start = time.monotonic()
        response = self.http.get(self.base_url + path, timeout=30)
        self.seconds = time.monotonic() - start
        return response

    def post(self, path: str, data: dict[str, str] | None = None) -> requests.Response:
        if settings.CSRF_COOKIE_NAME not in self.http.cookies:
            self.get("/")  # every page sets the CSRF cookie (base.html uses the token)
        token = self.http.cookies[settings.CSRF_COOKIE_NAME]
        start = time.monotonic()
        response = self.http.post(
            self.base_url + path, data=data or {}, headers={"X-CSRFToken": token}, timeout=30
        )
        self.seconds = time.monotonic() - start
        return response
