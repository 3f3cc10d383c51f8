"""The settings module: production defaults pass Django's deployment checks; EMAIL_URL parsing."""

import os
import secrets
import string
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from configconsole.settings import email_settings_from_url

PROJECT = Path(__file__).resolve().parents[2]


def _run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    """manage.py in a fresh process, with only the environment a production server would set."""
    clean = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "EMAIL_")) and name not in {"REDIS_URL"}
    }
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_defaults_pass_deploy_checks_without_warnings():
    alphabet = string.ascii_letters + string.digits + string.punctuation
    secret_key = "".join(secrets.choice(alphabet) for _ in range(60))

    result = _run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secret_key,
        DJANGO_SETTINGS_MODULE="configconsole.settings",
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNING" not in output
    assert "System check identified no issues" in output


def test_settings_refuse_to_load_without_secret_key_when_debug_is_off():
    result = _run_manage("check", DJANGO_DEBUG="0", DJANGO_SETTINGS_MODULE="configconsole.settings")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off" in result.stderr


@pytest.mark.parametrize(
    "url, expected",
    [
        (
            "smtp://mailer:s%40cret@mail.example.com:587?tls=1",
            {
                "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "EMAIL_HOST": "mail.example.com",
                "EMAIL_PORT": 587,
                "EMAIL_HOST_USER": "mailer",
                "EMAIL_HOST_PASSWORD": "s@cret",
                "EMAIL_USE_SSL": False,
                "EMAIL_USE_TLS": True,
            },
        ),
        (
            "smtps://mailer:pw@mail.example.com",
            {
                "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "EMAIL_HOST": "mail.example.com",
                "EMAIL_PORT": 465,
                "EMAIL_HOST_USER": "mailer",
                "EMAIL_HOST_PASSWORD": "pw",
                "EMAIL_USE_SSL": True,
                "EMAIL_USE_TLS": False,
            },
        ),
        (
            "smtp://relay.internal",
            {
                "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "EMAIL_HOST": "relay.internal",
                "EMAIL_PORT": 25,
                "EMAIL_HOST_USER": "",
                "EMAIL_HOST_PASSWORD": "",
                "EMAIL_USE_SSL": False,
                "EMAIL_USE_TLS": False,
            },
        ),
    ],
)
def test_email_url_gives_smtp_settings(url, expected):
    assert email_settings_from_url(url) == expected


@pytest.mark.parametrize(
    "url, backend",
    [
        ("console://", "django.core.mail.backends.console.EmailBackend"),
        ("locmem://", "django.core.mail.backends.locmem.EmailBackend"),
        ("dummy://", "django.core.mail.backends.dummy.EmailBackend"),
    ],
)
def test_email_url_selects_non_smtp_backends(url, backend):
    assert email_settings_from_url(url)["EMAIL_BACKEND"] == backend


def test_email_url_with_unknown_scheme_is_refused_clearly():
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL scheme 'imap'"):
        email_settings_from_url("imap://mail.example.com")
