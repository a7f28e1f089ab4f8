"""The production stack: compose file, image, `check --deploy`, static files, documented settings."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.test import Client

from sesconsole import checks

BASE_DIR = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "CELERY_", "EMAIL_", "DJANGO_", "STATIC"))
    }
    env.update(
        DEBUG="false",
        HTTPS="true",
        SECRET_KEY=secrets.token_urlsafe(60),
        SECRETS_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="ses.example.com",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        SESCONSOLE_VAR_DIR=str(tmp_path),
        STATIC_ROOT=str(tmp_path / "static"),
    )
    env.update(overrides)
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# --- docker-compose.yml and the Dockerfile ------------------------------------------------------
def test_compose_file_validates_against_the_compose_spec() -> None:
    # The schema ships inside check-jsonschema: no network, no Docker engine.
    result = subprocess.run(
        [
            str(VENV_BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.compose-spec",
            "docker-compose.yml",
        ],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def compose() -> dict[str, Any]:
    from ruamel.yaml import YAML

    return YAML(typ="safe").load((BASE_DIR / "docker-compose.yml").read_text())


def test_compose_runs_web_workers_one_beat_postgres_and_redis() -> None:
    services = compose()["services"]
    assert sorted(services) == ["beat", "db", "migrate", "redis", "smtp", "web", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "sesconsole", "beat"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "sesconsole", "worker"]
    # Scalable with --scale: no fixed container name, no host port on the workers.
    assert all("container_name" not in service for service in services.values())
    assert "ports" not in services["worker"]
    for name in ("web", "worker", "db", "redis", "smtp"):
        assert "healthcheck" in services[name], name
    for name in ("web", "worker", "beat", "smtp"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
        environment = services[name]["environment"]
        assert environment["SECRET_KEY"] == "${SECRET_KEY:?set SECRET_KEY}"
        assert environment["SECRETS_ENCRYPTION_KEYS"].startswith("${SECRETS_ENCRYPTION_KEYS:?")


def test_make_run_starts_the_smtp_server_in_the_embedded_mode() -> None:
    processes = dict(
        line.split(": ", 1) for line in (BASE_DIR / "Procfile").read_text().splitlines() if line
    )
    assert processes["smtp"] == (
        "exec env SMTP_ALLOW_PLAINTEXT_AUTH_ON_LOOPBACK=true .venv/bin/python manage.py smtp_server"
    )


def dockerfile_copies() -> set[str]:
    sources: set[str] = set()
    for line in (BASE_DIR / "Dockerfile").read_text().splitlines():
        parts = line.split()
        if parts and parts[0].upper() == "COPY" and not any(p.startswith("--") for p in parts):
            sources.update(parts[1:-1])
    return sources


def local_apps() -> set[str]:
    found = set()
    for entry in settings.INSTALLED_APPS:
        package = entry.split(".")[0]
        spec = importlib.util.find_spec(package)
        # Local: a package at the top of the checkout (the venv inside it doesn't count).
        if spec and spec.origin and Path(spec.origin).resolve().parent.parent == BASE_DIR:
            found.add(package)
    return found


def test_dockerfile_copies_every_local_app_and_the_shared_folders() -> None:
    apps = local_apps()
    assert {
        "sesconsole",
        "accounts",
        "identities",
        "templates_app",
        "api",
        "verification",
        "smtp",
    } <= apps
    missing = (apps | {"templates", "static", "manage.py", "pyproject.toml"}) - dockerfile_copies()
    assert missing == set(), f"Add COPY lines to the Dockerfile for {sorted(missing)}"


def test_pyproject_packages_every_local_app() -> None:
    text = (BASE_DIR / "pyproject.toml").read_text()
    include = re.search(r"^include = \[(.*)\]$", text, re.MULTILINE)
    assert include is not None
    packages = {name.strip(' "*') for name in include.group(1).split(",")}
    assert local_apps() - packages == set()


def gunicorn_settings(env: dict[str, str]) -> dict[str, Any]:
    """What gunicorn reads from gunicorn.conf.py under `env` (it executes the file)."""
    code = (
        "import runpy, json; c = runpy.run_path('gunicorn.conf.py'); "
        "print(json.dumps({k: c[k] for k in ('workers', 'threads', 'accesslog')}))"
    )
    clean = {k: v for k, v in os.environ.items() if k not in ("WEB_CONCURRENCY", "WEB_THREADS")}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(result.stdout))


def test_image_runs_gunicorn_with_the_benchmarked_configuration() -> None:
    # The image's gunicorn reads gunicorn.conf.py from /app, as bench/api.py's does.
    assert "gunicorn.conf.py" in dockerfile_copies()
    assert gunicorn_settings({}) == {"workers": 3, "threads": 4, "accesslog": "-"}
    tuned = gunicorn_settings({"WEB_CONCURRENCY": "5", "WEB_THREADS": "4"})
    assert tuned == {"workers": 5, "threads": 4, "accesslog": "-"}


def test_image_serves_manifest_static_files_at_runtime() -> None:
    # Set with ENV, so collectstatic at build time and the running container agree.
    text = (BASE_DIR / "Dockerfile").read_text()
    assert "STATICFILES_BACKEND=whitenoise.storage.CompressedManifestStaticFilesStorage" in text
    assert "WHITENOISE_USE_FINDERS=false" in text


# --- manage.py check --deploy ------------------------------------------------------------------
def test_check_deploy_is_clean_with_production_settings(tmp_path: Path) -> None:
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_warns_about_development_secrets(tmp_path: Path) -> None:
    env = production_env(tmp_path)
    del env["SECRET_KEY"], env["SECRETS_ENCRYPTION_KEYS"]
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 1
    assert "sesconsole.W001" in result.stderr
    assert "sesconsole.W002" in result.stderr


def test_production_secrets_check_warns_without_encryption_keys(settings: Any) -> None:
    settings.SECRETS_ENCRYPTION_KEYS = []
    settings.SECRET_KEY = secrets.token_urlsafe(60)
    assert checks.check_production_secrets() == [checks.W001]


def test_production_secrets_check_warns_about_the_development_key(settings: Any) -> None:
    settings.SECRETS_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    settings.SECRET_KEY = settings.DEVELOPMENT_SECRET_KEY
    assert checks.check_production_secrets() == [checks.W002]


def test_production_secrets_check_is_quiet_when_both_are_set(settings: Any) -> None:
    settings.SECRETS_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    settings.SECRET_KEY = secrets.token_urlsafe(60)
    assert checks.check_production_secrets() == []


def test_encryption_keys_check_names_a_malformed_key(settings: Any) -> None:
    settings.SECRETS_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), "not-a-key"]
    found = checks.check_encryption_keys()
    assert [(message.id, message.msg) for message in found] == [
        (
            "sesconsole.E001",
            "Key 2 of SECRETS_ENCRYPTION_KEYS is not a Fernet key "
            "(32 url-safe base64-encoded bytes).",
        )
    ]


# --- static files ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def collected_static(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp_path = tmp_path_factory.mktemp("collectstatic")
    env = production_env(
        tmp_path,
        STATICFILES_BACKEND="whitenoise.storage.CompressedManifestStaticFilesStorage",
        WHITENOISE_USE_FINDERS="false",
    )
    result = manage(env, "collectstatic", "--noinput")
    assert result.returncode == 0, result.stdout + result.stderr
    return tmp_path / "static"


def test_collectstatic_with_the_manifest_storage_writes_hashed_compressed_files(
    collected_static: Path,
) -> None:
    assert (collected_static / "staticfiles.json").exists()
    hashed = list((collected_static / "css").glob("console.*.css"))
    assert len(hashed) == 1
    assert (collected_static / "css" / f"{hashed[0].name}.gz").exists()


def test_pages_link_hashed_static_files_under_the_manifest_storage(
    collected_static: Path, settings: Any, client: Client, db: None
) -> None:
    settings.STATIC_ROOT = collected_static
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    html = client.get("/login/").content.decode()
    css = re.search(r'href="/static/css/(console\.[0-9a-f]{12}\.css)"', html)
    assert css is not None, html[:800]
    assert (collected_static / "css" / css.group(1)).exists()
    assert re.search(r'src="/static/js/console\.[0-9a-f]{12}\.js"', html)
    assert re.search(r'src="/static/django_htmx/htmx-2\.min\.[0-9a-f]{12}\.js"', html)


# --- README -----------------------------------------------------------------------------------
def settings_variables() -> set[str]:
    source = (BASE_DIR / "sesconsole" / "settings.py").read_text()
    return set(re.findall(r'\b(?:env|Env\(\))(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]*)"', source))


def test_readme_documents_every_environment_variable() -> None:
    names = settings_variables()
    assert {"SECRET_KEY", "DATABASE_URL", "SESCONSOLE_VAR_DIR", "LOG_FORMAT"} <= names
    readme = (BASE_DIR / "README.md").read_text()
    undocumented = sorted(name for name in names if f"`{name}`" not in readme)
    assert undocumented == [], f"Add these settings to README.md: {undocumented}"


def test_readme_has_a_production_section() -> None:
    readme = (BASE_DIR / "README.md").read_text()
    assert "\n## Production\n" in readme
    for phrase in (
        "docker compose up -d",
        "--scale worker=",
        "pg_dump",
        "SECRETS_ENCRYPTION_KEYS",
        "check --deploy",
    ):
        assert phrase in readme, phrase
