"""Settings for Config Console, read from the environment (see README "Configuration")."""

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_flag("DJANGO_DEBUG", False)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off (use a long random string)."
        )
    # Only ever used for local development with debug on.
    SECRET_KEY = "dev-only-insecure-key-for-local-runs-never-use-in-production-0123456789"

ALLOWED_HOSTS = [
    host.strip()
    for host in os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",")
    if host.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",  # the built-in widget templates, for FORM_RENDERER below
    "simple_history",
    "django_jsonform",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "axes",
    "audit",
    "configs",
    "reviews",
    "people",
    "identity",
    # Before django_tasks_db: its `db_worker` command is push's, which survives database restarts.
    "push",
    "django_tasks",
    "django_tasks_db",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "common.middleware.PermissionsPolicyMiddleware",
    "common.faults.DatabaseUnavailableMiddleware",
    "common.middleware.RejectNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "people.middleware.TimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "audit.middleware.DeniedActionMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "configconsole.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "reviews.context_processors.navigation",
                "identity.context_processors.navigation",
            ],
        },
    },
]

WSGI_APPLICATION = "configconsole.wsgi.application"

# Seconds PostgreSQL may spend on one statement (0: no limit, the default for manage.py
# commands), and how long to wait for any answer from it before giving up on the connection:
# the server enforces the statement timeout only while it runs (common/postgresql).
DATABASE_STATEMENT_TIMEOUT = float(os.environ.get("DATABASE_STATEMENT_TIMEOUT", "5"))
DATABASE_ANSWER_TIMEOUT = float(
    os.environ.get("DATABASE_ANSWER_TIMEOUT")
    or (DATABASE_STATEMENT_TIMEOUT + 2 if DATABASE_STATEMENT_TIMEOUT else 0)
)

# PostgreSQL connections each app server process may hold at once for requests and its own
# background work (a pool, Django's psycopg pool): the whole budget is servers × workers ×
# (DATABASE_POOL_SIZE + 1 for the change feed's LISTEN) + task workers + commands, which must stay
# under the server's max_connections (README "Deploying"). A request that finds every connection
# busy waits up to DATABASE_ANSWER_TIMEOUT seconds for one, then answers 503 with Retry-After.
DATABASE_POOL_SIZE = int(os.environ.get("DATABASE_POOL_SIZE", "4"))

# DATABASE_URL unset: an SQLite file in the project. Production: postgres://…
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        # No persistent connections: under ASGI each request's thread is new, and connections
        # kept per thread piled up until PostgreSQL refused them (issue 25). PostgreSQL uses the
        # pool instead; SQLite's connections are files.
        conn_max_age=0,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for a writer instead of failing at once with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
else:
    # The pool hands out checked connections (CONN_HEALTH_CHECKS: a dead one is replaced, not
    # reported), opens them on demand up to max_size and closes those idle for a minute beyond
    # the one it keeps, so a quiet server holds one. Its connections come from
    # common.postgresql, which gives each the answer deadline below.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": DATABASE_POOL_SIZE,
        "max_idle": 60,
        "timeout": DATABASE_ANSWER_TIMEOUT or 30,
    }
    # Prepared statements make the small hot read queries cheaper.
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 1
    # Timeouts (seconds): a database that cannot be reached or does not answer fails the request
    # with a 503 in seconds instead of holding a worker until the server kills it.
    # DATABASE_STATEMENT_TIMEOUT=0 lifts the server's limit (long maintenance commands).
    DATABASES["default"]["ENGINE"] = "common.postgresql"
    DATABASES["default"]["OPTIONS"]["connect_timeout"] = max(
        2, int(os.environ.get("DATABASE_CONNECT_TIMEOUT", "3"))
    )
    DATABASES["default"]["OPTIONS"]["options"] = (
        f"-c statement_timeout={int(DATABASE_STATEMENT_TIMEOUT * 1000)}"
    )
# Seconds a client is asked to wait (Retry-After) when the database cannot answer.
DATABASE_RETRY_AFTER = int(os.environ.get("DATABASE_RETRY_AFTER", "5"))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
# Redis is an accelerator: when it does not answer within REDIS_TIMEOUT seconds the cache misses,
# and it is left alone for REDIS_RETRY_AFTER seconds before the next try (common/cache.py).
REDIS_TIMEOUT = float(os.environ.get("REDIS_TIMEOUT", "0.5"))
REDIS_RETRY_AFTER = float(os.environ.get("REDIS_RETRY_AFTER", "5"))
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "common.cache.AcceleratorRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "configconsole",
            "OPTIONS": {"socket_connect_timeout": REDIS_TIMEOUT, "socket_timeout": REDIS_TIMEOUT},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Sign-in throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one username,
# or from one client address, sign-in is refused for AXES_COOLOFF_MINUTES (README "Deploying":
# `manage.py axes_reset_username NAME` lifts it sooner).
AUTHENTICATION_BACKENDS = [
    "common.signin.SignInThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
    # The company's identity provider (OpenID Connect): answers only the provider's callback.
    "identity.oidc.ProviderBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_MINUTES", "15")) / 60  # hours
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "common.throttle.client_address"
AXES_VERBOSE = False

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "reviews:dashboard"
LOGOUT_REDIRECT_URL = "login"

# Signing in with the company's identity provider over OpenID Connect (mozilla-django-oidc;
# README "Signing in with your identity provider"). Off while OIDC_ISSUER is unset. The
# endpoints come from the issuer's discovery document (identity/oidc.py).
OIDC_ISSUER = os.environ.get("OIDC_ISSUER", "").strip()
OIDC_RP_CLIENT_ID = os.environ.get("OIDC_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = os.environ.get("OIDC_CLIENT_SECRET", "")
OIDC_PROVIDER_NAME = os.environ.get("OIDC_PROVIDER_NAME", "your identity provider")
OIDC_RP_SCOPES = os.environ.get("OIDC_SCOPES", "openid email profile")
OIDC_RP_SIGN_ALGO = os.environ.get("OIDC_SIGN_ALGORITHM", "RS256")
# The claim listing the person's groups (Okta and Keycloak: "groups"; Entra ID: "groups" or
# "roles"), and the claim their console username is made from at their first sign-in (the
# person is known by the stable "sub" claim after that).
OIDC_GROUPS_CLAIM = os.environ.get("OIDC_GROUPS_CLAIM", "groups")
OIDC_USERNAME_CLAIM = os.environ.get("OIDC_USERNAME_CLAIM", "preferred_username")
# Link a first sign-in to a person provisioned over SCIM by username when their externalId is
# not the provider's `sub` (Entra ID): only for providers where people cannot edit that claim.
OIDC_LINK_PROVISIONED_BY_USERNAME = os.environ.get("OIDC_LINK_PROVISIONED_BY_USERNAME") == "1"
OIDC_USE_PKCE = True
OIDC_USE_NONCE = True
OIDC_STORE_ID_TOKEN = True  # the hint that ends the provider's session at sign-out
OIDC_TIMEOUT = float(os.environ.get("OIDC_TIMEOUT", "10"))
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc_authentication_callback"
LOGIN_REDIRECT_URL_FAILURE = "login"
# PASSWORD_LOGIN=0: only the identity provider signs people in (superusers keep
# `manage.py break_glass_link`, README).
PASSWORD_LOGIN = env_flag("PASSWORD_LOGIN", True)

# SCIM 2.0 provisioning at /scim/v2/ (django-scim2; identity/scim.py), bearer tokens from
# `manage.py create_scim_token`.
SCIM_SERVICE_PROVIDER = {
    "NETLOC": "configured-per-request",  # locations are made from each request's host
    "BASE_LOCATION_GETTER": "identity.scim_setup.base_location",
    "AUTH_CHECK_MIDDLEWARE": "identity.scim_setup.ScimBearerCheck",
    "USER_ADAPTER": "identity.scim.PersonAdapter",
    "GROUP_ADAPTER": "identity.scim.GroupAdapter",
    "GROUP_MODEL": "identity.models.ProviderGroup",
    "USER_FILTER_PARSER": "identity.scim_setup.PersonFilter",
    "GROUP_FILTER_PARSER": "identity.scim_setup.GroupFilter",
    "SERVICE_PROVIDER_CONFIG_MODEL": "identity.scim_setup.ServiceProviderConfig",
    "GET_EXTRA_MODEL_FILTER_KWARGS_GETTER": "identity.scim_setup.no_extra_filter",
    "GET_EXTRA_MODEL_EXCLUDE_KWARGS_GETTER": "identity.scim_setup.extra_exclude",
    "SCHEMAS_GETTER": "identity.scim_setup.schemas",
    "GET_QUERYSET_POST_PROCESSOR_GETTER": "identity.scim_setup.people_with_their_groups",
    "AUTHENTICATION_SCHEMES": [
        {
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "A token made by `manage.py create_scim_token`.",
            "primary": True,
        }
    ],
    "WWW_AUTHENTICATE_HEADER": 'Bearer realm="scim"',
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

# The line a change request's "Try it before approval" gives for installing the Python client:
# from a checkout of this repository unless your package index holds it.
CLIENT_INSTALL_COMMAND = os.environ.get("CLIENT_INSTALL_COMMAND", "pip install -e ./client")

# Widgets render from the project's templates too, so templates/django_jsonform/editor.html can
# hide the widget's textarea without an inline style (the CSP allows no inline style).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Tests and `runserver` serve static files straight from the finders.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# HTTPS. On by default when debug is off; DJANGO_SSL_REDIRECT=0 where TLS ends at a proxy that
# does not set X-Forwarded-Proto, or for a local run over plain HTTP.
SECURE_SSL_REDIRECT = env_flag("DJANGO_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_flag("DJANGO_SECURE_COOKIES", SECURE_SSL_REDIRECT)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
if env_flag("DJANGO_TRUST_X_FORWARDED_PROTO", False):
    # Only behind a proxy that always sets this header itself.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = [
    origin.strip()
    for origin in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",")
    if origin.strip()
]
X_FRAME_OPTIONS = "DENY"
# Load balancers probe over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# Content-Security-Policy: scripts, styles, fonts and images only from this site, no inline
# script or style anywhere (the console's code is in static/). The admin's and the form editor's
# images include data: URIs; Swagger UI is served from the same site (drf-spectacular-sidecar).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
if OIDC_ISSUER:
    # Sign-out is a form on every page, answered with a redirect to the provider's
    # end_session_endpoint: the browser follows it only if the form may go there.
    _issuer = urlsplit(OIDC_ISSUER)
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"].append(
        f"{_issuer.scheme}://{_issuer.netloc}"
    )
# Browser features the console never uses, refused for it and anything it might embed.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), "
    "magnetometer=(), microphone=(), midi=(), payment=(), usb=(), interest-cohort=()"
)

# The largest config value, serialized as compact JSON (larger ones are refused, 413 in the API).
CONFIG_MAX_VALUE_BYTES = int(os.environ.get("CONFIG_MAX_VALUE_BYTES", str(1024 * 1024)))
# Request bodies: a config value is a document, not a file upload.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DJANGO_MAX_BODY_BYTES", str(2 * 1024 * 1024)))


def email_settings_from_url(url: str) -> dict:
    """EMAIL_URL such as smtp://user:pass@host:587?tls=1, smtps://…, console://, locmem://."""
    parts = urlsplit(url)
    backends = {
        "smtp": "django.core.mail.backends.smtp.EmailBackend",
        "smtps": "django.core.mail.backends.smtp.EmailBackend",
        "console": "django.core.mail.backends.console.EmailBackend",
        "locmem": "django.core.mail.backends.locmem.EmailBackend",
        "dummy": "django.core.mail.backends.dummy.EmailBackend",
    }
    if parts.scheme not in backends:
        raise ImproperlyConfigured(
            f"EMAIL_URL scheme {parts.scheme!r} is not one of {sorted(backends)}"
        )
    query = parse_qs(parts.query)
    return {
        "EMAIL_BACKEND": backends[parts.scheme],
        "EMAIL_HOST": parts.hostname or "localhost",
        "EMAIL_PORT": parts.port or (465 if parts.scheme == "smtps" else 25),
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_SSL": parts.scheme == "smtps",
        "EMAIL_USE_TLS": query.get("tls", ["0"])[0] in {"1", "true"},
    }


if os.environ.get("EMAIL_URL"):
    globals().update(email_settings_from_url(os.environ["EMAIL_URL"]))
else:
    EMAIL_BACKEND = os.environ.get(
        "EMAIL_BACKEND",
        "django.core.mail.backends.console.EmailBackend"
        if DEBUG
        else "django.core.mail.backends.smtp.EmailBackend",
    )
    EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_flag("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Config Console <noreply@localhost>")
# Links in notification emails.
CONSOLE_BASE_URL = os.environ.get("CONSOLE_BASE_URL", "http://127.0.0.1:8000")

SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "configs.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["common.throttle.TokenRateThrottle"],
    # JSON only: nothing under /api/ answers in HTML, not even for a browser.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["common.api.StrictJSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "common.api.JSONOnly",
    "EXCEPTION_HANDLER": "common.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "common.api.Pagination",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Proxies in front of the app servers that append the client's address to X-Forwarded-For.
    "NUM_PROXIES": int(os.environ.get("DJANGO_NUM_PROXIES", "0")),
}
CSRF_FAILURE_VIEW = "common.api.csrf_failure"
# Rate limits, per minute, each a smooth limit (common/throttle.py) counted in Redis when
# it answers and per process when not. Empty: no limit. Token reads are not limited by default:
# a fleet of workers shares one pipeline token.
API_READ_RATE = os.environ.get("API_READ_RATE", "")
API_WRITE_RATE = os.environ.get("API_WRITE_RATE", "300/min")  # per token and per address
API_FAILED_AUTH_RATE = os.environ.get("API_FAILED_AUTH_RATE", "30/min")  # per address and token

# Memory each worker process gives the read path: prepared versions, and whole namespace
# bundles (two bundles of 10,000 configs of a few hundred bytes each fit many times over).
PREPARED_CACHE_BYTES = int(os.environ.get("PREPARED_CACHE_BYTES", str(32 * 1024 * 1024)))
BUNDLE_CACHE_BYTES = int(os.environ.get("BUNDLE_CACHE_BYTES", str(64 * 1024 * 1024)))
# Seconds between the batched writes of which tokens read which configs (0: never by itself).
CONSUMER_FLUSH_SECONDS = float(os.environ.get("CONSUMER_FLUSH_SECONDS", "10"))
# Token checks and live versions answered from each process's memory while the change feed
# (PostgreSQL LISTEN/NOTIFY) is healthy; off: every token read asks the database once.
READS_FROM_MEMORY = env_flag("READS_FROM_MEMORY", True)
# The most entries of each kind that memory keeps (token checks, token scopes, configs' live
# versions; a namespace's bundle weighs one per config): past it the least recently read is
# dropped and read from the database again. 50,000 configs' entries are about 15 MB a process.
READ_MEMORY_ENTRIES = int(os.environ.get("READ_MEMORY_ENTRIES", "50000"))
# Webhook deliveries are queued in the database and sent by `manage.py db_worker`.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# Webhooks may target private, loopback and link-local addresses only when this is on.
WEBHOOK_ALLOW_PRIVATE = env_flag("WEBHOOK_ALLOW_PRIVATE", False)
# Encrypts webhook secrets at rest; defaults to DJANGO_SECRET_KEY (changing it loses them).
WEBHOOK_SECRET_KEY = os.environ.get("WEBHOOK_SECRET_KEY", "")
SPECTACULAR_SETTINGS = {
    "TITLE": "Config Console API",
    "VERSION": "1",
    "OAS_VERSION": "3.1.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The OpenFeature endpoints are plain Django views: the hook describes them.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "configs.api.ofrep_openapi.describe_ofrep",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
}
