"""Production settings: refuse to start half-configured, and pass `check --deploy`."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args, **env):
    clean = {
        k: v
        for k, v in os.environ.items()
        # DJANGO_ALLOW_ASYNC_UNSAFE: set in this process by the browser fixture, never deployed.
        if k
        not in {
            "DEBUG",
            "SECRET_KEY",
            "ALLOWED_HOSTS",
            "DATABASE_URL",
            "REDIS_URL",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        }
    }
    clean.update({"PCN_PORTAL_IGNORE_DOTENV": "1", "DJANGO_SETTINGS_MODULE": "pcn_portal.settings", **env})
    clean.pop("PCN_PORTAL_TESTING", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def test_production_settings_pass_check_deploy():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY="x" * 20 + "-a-long-random-production-secret-" + "y" * 20,
        ALLOWED_HOSTS="hi-portal.example.nhs.uk",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = _manage("check", DEBUG="0", ALLOWED_HOSTS="hi-portal.example.nhs.uk")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    result = _manage("check", DEBUG="0", SECRET_KEY="z" * 60)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS is not set" in result.stderr


def test_bad_boolean_is_a_clear_error():
    result = _manage("check", DEBUG="perhaps")
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


def test_collectstatic_with_production_storage_succeeds(tmp_path):
    """Hashed, compressed static files (WhiteNoise manifest storage) build without a missing
    reference, e.g. a source map named by a vendored file."""
    result = _manage(
        "collectstatic",
        "--noinput",
        "-v0",
        DEBUG="0",
        SECRET_KEY="s" * 60,
        ALLOWED_HOSTS="hi-portal.example.nhs.uk",
        STATIC_ROOT=str(tmp_path),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = (tmp_path / "staticfiles.json").read_text()
    assert "nhsuk/nhsuk-frontend.min.css" in manifest and "plotly/plotly.min.js" in manifest
