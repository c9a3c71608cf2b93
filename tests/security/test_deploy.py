"""Production settings: `check --deploy` is clean, security headers and cookies are set, CSRF
is enforced, and no secret is committed."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import login

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECURE_COOKIES")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "DEBUG": "false",
    "SECURE_COOKIES": "true",
    "ALLOWED_HOSTS": "planner.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://planner.example.com",
}


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        **PRODUCTION,
        SECRET_KEY=secrets.token_urlsafe(50),
        VAR_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_does_complain_about_plain_http_and_a_weak_key(tmp_path):
    # the check above can fail: without HTTPS settings and with a short key it reports them
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="false",
        SECRET_KEY="short",
        VAR_DIR=str(tmp_path),
    )
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W009", "security.W012"):
        assert warning in result.stderr, warning


def test_pages_carry_the_security_headers(client):
    response = client.get(reverse("accounts:login"))
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    policy = dict(
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";")
    )
    assert policy["script-src"] == "'self'" and policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'" and policy["default-src"] == "'self'"


def test_no_template_has_an_inline_script_or_event_handler():
    # the policy allows scripts from our static files only; an inline one would be blocked
    offenders = []
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text) or re.search(r"\son[a-z]+=", text):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_over_https_http_is_redirected_and_hsts_and_secure_cookies_are_sent(settings, owner):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    plain = Client().get(reverse("accounts:login"))
    assert plain.status_code == 301 and plain["Location"].startswith("https://")
    assert Client().get(reverse("healthz")).status_code != 301  # load balancers probe over HTTP
    secure = Client().get(reverse("accounts:login"), secure=True)
    assert secure["Strict-Transport-Security"].startswith("max-age=31536000")
    assert secure.cookies["csrftoken"]["secure"]
    client = Client()
    client.force_login(owner)
    response = client.get(reverse("portfolio:home"), secure=True)
    assert response.status_code == 200


def test_the_session_cookie_is_http_only_and_lasts_a_working_day(owner):
    client = Client()
    response = client.post(
        reverse("accounts:login"),
        {"username": owner.username, "password": "correct horse battery staple"},
    )
    assert response.status_code == 302
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) == 12 * 3600


def test_a_post_without_the_csrf_token_is_refused(owner, organization):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post(reverse("programs:program_create"), {"name": "Sneaky"})
    assert response.status_code == 403
    assert not organization.programs.exists()


def test_a_post_with_the_csrf_token_passes_the_check(owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    page = client.get(reverse("accounts:members"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert token
    response = client.post(
        reverse("accounts:members"),
        {"csrfmiddlewaretoken": token.group(1), "username": "nobody", "role": "viewer"},
    )
    assert response.status_code == 400  # past the CSRF check, refused by the form


def test_the_admin_is_for_staff_only(owner):
    response = login(owner).get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


SECRET_PATTERNS = {
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "AWS access key": re.compile(r"AKIA[0-9A-Z]{16}"),
    "llmplanner API token": re.compile(r"llmp_[0-9a-f]{8}_[A-Za-z0-9_-]{40,}"),
    "GitHub token": re.compile(r"gh[pousr]_[A-Za-z0-9]{36}"),
    "Slack token": re.compile(r"xox[baprs]-[A-Za-z0-9-]{10,}"),
    "password in a URL": re.compile(r"://[A-Za-z0-9_.-]+:(?!\$\{)[^@/\s'\"]{12,}@"),
    "Django SECRET_KEY value": re.compile(
        r"SECRET_KEY\s*[:=]\s*['\"]?(?!.*(insecure|test|ci-only|example|compose|\$\{))[A-Za-z0-9!@#%^&*()_+=-]{30,}"
    ),
}


def test_no_secret_is_committed():
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=30
    ).stdout.split(b"\0")
    found = []
    for name in filter(None, files):
        path = ROOT / name.decode()
        if path.suffix in {".png", ".mo", ".woff", ".woff2", ".ttf", ".pdf", ".ico"}:
            continue
        if not path.is_file():
            continue
        text = path.read_text(errors="ignore")
        if path.name == "test_deploy.py":  # the patterns themselves
            continue
        found += [f"{name.decode()}: {k}" for k, rx in SECRET_PATTERNS.items() if rx.search(text)]
    assert found == []
    assert ".env" in (ROOT / ".gitignore").read_text().split()


@pytest.mark.parametrize(
    "sample",
    [
        "-----BEGIN RSA PRIVATE KEY-----",
        "AKIAABCDEFGHIJKLMNOP",
        "llmp_deadbeef_" + "x" * 43,
        "postgres://app:Sup3rS3cretPassw0rd@db:5432/x",
        "SECRET_KEY=k8Jd93kLmQ2xZp7VnR4tY6wE1sA0cB5nM9gH3jK2",
    ],
)
def test_the_secret_scan_finds_a_planted_secret(sample):
    assert any(rx.search(sample) for rx in SECRET_PATTERNS.values())
