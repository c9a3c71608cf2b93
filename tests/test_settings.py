"""llmplanner.settings reads everything from the environment and fails loudly on bad values.

Each test executes the settings file afresh (runpy) in an environment of its own making.
"""

import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from llmplanner import env as env_module

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_FILE = ROOT / "llmplanner" / "settings.py"
# Read by scripts/start.sh or docker-compose.yml, not by the settings.
NOT_SETTINGS = {"PORT", "WEB_CONCURRENCY", "WORKER_CONCURRENCY", "POSTGRES_PASSWORD"}


def example_names() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))


@pytest.fixture
def load(monkeypatch, tmp_path):
    """Run the settings file with exactly the given variables set; return its namespace."""

    def _load(**variables: str) -> dict:
        for name in example_names() | env_module.NAMES_READ:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(SETTINGS_FILE))

    return _load


def test_it_requires_a_secret_key_when_debug_is_off(load):
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY"):
        load()


def test_it_allows_a_missing_secret_key_in_debug(load):
    assert load(DEBUG="true")["SECRET_KEY"]


def test_it_names_a_bad_boolean(load):
    with pytest.raises(ImproperlyConfigured, match="DEBUG must be a boolean"):
        load(DEBUG="maybe")


def test_it_defaults_to_sqlite_and_the_filesystem_broker(load, tmp_path):
    s = load(SECRET_KEY="k")
    assert s["DEBUG"] is False
    db = s["DATABASES"]["default"]
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["NAME"] == tmp_path / "var" / "db.sqlite3"
    assert db["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in db["OPTIONS"]["init_command"]
    assert s["CELERY_BROKER_URL"].startswith("fsatomic://")
    options = s["CELERY_BROKER_TRANSPORT_OPTIONS"]
    assert options["data_folder_in"] == options["data_folder_out"]
    assert options["polling_interval"] <= 0.1


def test_it_reads_a_postgres_database_url(load):
    s = load(SECRET_KEY="k", DATABASE_URL="postgres://app:s%40cret@db.internal:5433/planner")
    db = s["DATABASES"]["default"]
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "planner",
        "app",
        "s@cret",
        "db.internal",
        "5433",
    )


def test_it_reads_an_absolute_sqlite_url(load, tmp_path):
    s = load(SECRET_KEY="k", DATABASE_URL=f"sqlite:///{tmp_path}/x.sqlite3")
    assert s["DATABASES"]["default"]["NAME"] == tmp_path / "x.sqlite3"


@pytest.mark.parametrize(
    "url", ["mysql://u@h/db", "postgres://u@h", "postgres://u@h:notaport/db", "sqlite://"]
)
def test_it_names_a_bad_database_url(load, url):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        load(SECRET_KEY="k", DATABASE_URL=url)


def test_it_uses_redis_as_the_broker_when_redis_url_is_set(load):
    s = load(SECRET_KEY="k", REDIS_URL="redis://cache:6379/2")
    assert s["CELERY_BROKER_URL"] == "redis://cache:6379/2"
    timeout = s["CELERY_BROKER_TRANSPORT_OPTIONS"]["visibility_timeout"]
    assert timeout > s["CELERY_TASK_TIME_LIMIT"]


def test_it_prefers_celery_broker_url_over_redis_url(load):
    s = load(SECRET_KEY="k", REDIS_URL="redis://a:6379/0", CELERY_BROKER_URL="redis://b:6379/1")
    assert s["CELERY_BROKER_URL"] == "redis://b:6379/1"


def test_it_names_a_bad_redis_url(load):
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL"):
        load(SECRET_KEY="k", REDIS_URL="http://cache:6379")


@pytest.mark.parametrize("value", ["abc", "0"])
def test_it_names_a_bad_time_limit(load, value):
    with pytest.raises(ImproperlyConfigured, match="CELERY_TASK_TIME_LIMIT"):
        load(SECRET_KEY="k", CELERY_TASK_TIME_LIMIT=value)


def test_it_keeps_the_soft_time_limit_below_the_hard_one(load):
    with pytest.raises(ImproperlyConfigured, match="CELERY_TASK_SOFT_TIME_LIMIT"):
        load(SECRET_KEY="k", CELERY_TASK_TIME_LIMIT="60", CELERY_TASK_SOFT_TIME_LIMIT="60")


def test_it_reads_host_lists(load):
    s = load(
        SECRET_KEY="k",
        ALLOWED_HOSTS="planner.example.com, .internal",
        CSRF_TRUSTED_ORIGINS="https://planner.example.com",
    )
    assert s["ALLOWED_HOSTS"] == ["planner.example.com", ".internal"]
    assert s["CSRF_TRUSTED_ORIGINS"] == ["https://planner.example.com"]


def test_it_names_a_csrf_origin_without_a_scheme(load):
    with pytest.raises(ImproperlyConfigured, match="CSRF_TRUSTED_ORIGINS"):
        load(SECRET_KEY="k", CSRF_TRUSTED_ORIGINS="planner.example.com")


def test_it_names_a_bad_log_level(load):
    with pytest.raises(ImproperlyConfigured, match="LOG_LEVEL"):
        load(SECRET_KEY="k", LOG_LEVEL="LOUD")


def test_it_lists_every_variable_it_reads_in_env_example(load):
    load(SECRET_KEY="k")
    assert env_module.NAMES_READ <= example_names()


def test_it_reads_every_variable_of_env_example_or_a_script_does():
    unknown = example_names() - env_module.NAMES_READ - NOT_SETTINGS
    assert unknown == set()
    users = (ROOT / "scripts" / "start.sh").read_text() + (ROOT / "docker-compose.yml").read_text()
    for name in NOT_SETTINGS:
        assert name in users


def test_it_stops_manage_py_with_a_message_naming_the_variable(tmp_path):
    environment = {
        "PATH": os.environ["PATH"],
        "VAR_DIR": str(tmp_path),
        "SECRET_KEY": "k",
        "DATABASE_URL": "mysql://nope/db",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured: DATABASE_URL must start with postgres://" in result.stderr


def test_it_reads_the_mail_relay_and_the_sender(load):
    from django.core.mail.backends.smtp import EmailBackend

    s = load(
        SECRET_KEY="k",
        EMAIL_HOST="smtp.example.com",
        EMAIL_PORT="2525",
        EMAIL_USE_TLS="true",
        EMAIL_HOST_USER="planner",
        EMAIL_HOST_PASSWORD="s3cret",
        DEFAULT_FROM_EMAIL="Planner <planner@example.com>",
    )
    mailer = s["MAILERS"]["default"]
    assert mailer["BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert s["DEFAULT_FROM_EMAIL"] == "Planner <planner@example.com>"
    # the options are the ones Django's SMTP backend takes (it refuses unknown ones)
    backend = EmailBackend(alias="default", **mailer["OPTIONS"])
    assert (backend.host, backend.port, backend.use_tls, backend.use_ssl) == (
        "smtp.example.com",
        2525,
        True,
        False,
    )
    assert (backend.username, backend.password) == ("planner", "s3cret")


def test_it_defaults_to_a_local_relay_and_uses_the_submission_port_with_tls(load):
    plain = load(SECRET_KEY="k")["MAILERS"]["default"]["OPTIONS"]
    assert (plain["host"], plain["port"], plain["use_tls"], plain["username"]) == (
        "localhost",
        25,
        False,
        "",
    )
    assert load(SECRET_KEY="k", EMAIL_USE_TLS="1")["MAILERS"]["default"]["OPTIONS"]["port"] == 587
    debug = load(DEBUG="true")["MAILERS"]["default"]
    assert debug["BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    relay = load(DEBUG="true", EMAIL_HOST="mail.internal")["MAILERS"]["default"]
    assert relay["OPTIONS"]["host"] == "mail.internal"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("EMAIL_PORT", "smtp", "EMAIL_PORT must be an integer"),
        ("EMAIL_USE_TLS", "maybe", "EMAIL_USE_TLS must be a boolean"),
    ],
)
def test_it_names_a_bad_mail_setting(load, name, value, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        load(SECRET_KEY="k", **{name: value})
