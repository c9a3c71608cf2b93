"""docker-compose.yml agrees with the settings: no Docker engine runs here, so read the file."""

import os
import re
import runpy
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.core.exceptions import ImproperlyConfigured

from llmplanner import env as env_module
from llmplanner.celery import app as celery_app
from tests.test_settings import SETTINGS_FILE, example_names

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ("migrate", "web", "worker")
INTERPOLATION = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?:(:?[-?])([^}]*))?\}")
DEPLOY_VARIABLES = {"SECRET_KEY": "compose-test-secret"}


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Resolve ${VAR}, ${VAR:-default} and ${VAR:?error} the way compose does."""

    def replace(match: re.Match[str]) -> str:
        name, operator, argument = match.groups()
        if variables.get(name):
            return variables[name]
        if operator in (":?", "?"):
            raise AssertionError(f"compose requires {name}: {argument}")
        return argument or ""

    return INTERPOLATION.sub(replace, value).replace("$$", "$")


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose):
    return compose["services"]


def environment(service: dict) -> dict[str, str]:
    return {k: interpolate(str(v), DEPLOY_VARIABLES) for k, v in service["environment"].items()}


def command(service: dict) -> str:
    raw = service["command"]
    return interpolate(" ".join(raw) if isinstance(raw, list) else raw, {})


def test_it_has_the_services_of_the_scaled_out_deployment(services):
    assert {"postgres", "redis", "web", "worker"} <= set(services)


def test_it_keeps_postgres_data_in_a_volume(compose, services):
    volume = services["postgres"]["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])


def test_it_health_checks_redis(services):
    assert "ping" in services["redis"]["healthcheck"]["test"]


def test_it_runs_gunicorn_on_the_project_wsgi_app(services):
    assert command(services["web"]).startswith("gunicorn llmplanner.wsgi ")
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])


def test_it_runs_the_project_celery_app_in_the_worker(services):
    assert command(services["worker"]).startswith("celery -A llmplanner.celery worker")
    assert "llmplanner.celery inspect ping" in " ".join(services["worker"]["healthcheck"]["test"])


def test_it_lets_the_worker_scale(services):
    worker = services["worker"]
    assert "container_name" not in worker
    assert "ports" not in worker
    assert "--hostname" not in command(worker)  # default celery@<container id> is unique


def test_it_builds_every_app_service_from_the_one_image(services):
    for name in APP_SERVICES:
        assert services[name]["build"] == "."
        assert services[name]["image"] == "llmplanner:latest"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("# ") and "FROM python:3.12-slim" in dockerfile
    assert "pip install -r requirements.lock" in dockerfile
    assert "fonts-noto-cjk" in dockerfile and "libpango" in dockerfile


def test_it_starts_the_app_after_healthy_postgres_and_redis_and_migrations(services):
    for name in ("web", "worker"):
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
        assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert "migrate" in command(services["migrate"])


def test_it_sets_only_variables_the_settings_know(services):
    known = example_names()
    for name in APP_SERVICES:
        assert set(services[name]["environment"]) <= known, name


def test_it_points_the_app_at_the_compose_postgres_and_redis(services):
    postgres = services["postgres"]["environment"]
    env = environment(services["web"])
    expected_db = (
        f"postgres://{postgres['POSTGRES_USER']}:"
        f"{interpolate(postgres['POSTGRES_PASSWORD'], {})}@postgres:5432/{postgres['POSTGRES_DB']}"
    )
    assert env["DATABASE_URL"] == expected_db
    assert env["REDIS_URL"].startswith("redis://redis:6379/")


def test_it_gives_web_and_worker_the_same_configuration(services):
    web = environment(services["web"])
    web.pop("WEB_CONCURRENCY")
    assert environment(services["worker"]) == web == environment(services["migrate"])


def test_it_makes_a_valid_production_configuration(services, monkeypatch):
    for name in example_names() | env_module.NAMES_READ:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VAR_DIR", "/nonexistent-var-dir-unused")
    for name, value in environment(services["worker"]).items():
        monkeypatch.setenv(name, value)
    try:
        s = runpy.run_path(str(SETTINGS_FILE))
    except ImproperlyConfigured as exc:  # pragma: no cover - the message is the point
        pytest.fail(f"compose environment rejected by settings: {exc}")
    assert s["DEBUG"] is False
    assert s["DATABASES"]["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert s["DATABASES"]["default"]["HOST"] == "postgres"
    assert s["CELERY_BROKER_URL"].startswith("redis://redis:")


def test_it_refuses_to_start_without_a_secret_key(services):
    with pytest.raises(AssertionError, match="SECRET_KEY"):
        interpolate(services["web"]["environment"]["SECRET_KEY"], {})


def test_it_has_a_beat_service_exactly_when_there_are_periodic_jobs(services):
    assert ("beat" in services) == bool(celery_app.conf.beat_schedule)


def test_it_passes_docker_compose_config():
    # scripts/test.sh installs Debian's docker-compose when it is missing; never skipped
    assert shutil.which("docker-compose"), "install docker-compose (apt-get install docker-compose)"
    result = subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", "config", "-q"],
        cwd=ROOT,
        env={**os.environ, **DEPLOY_VARIABLES},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
