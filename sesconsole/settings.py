"""Settings for sesconsole, read from the environment.

Every variable is documented in README.md. The defaults make the embedded mode work with
no configuration at all: SQLite, a Celery broker on a SQLite file, mail kept on the console's
Sent messages page. Production sets DATABASE_URL, CELERY_BROKER_URL, SECRET_KEY and friends.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from sesconsole.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("SESCONSOLE_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
# The development key only works with DEBUG or in the embedded mode on loopback; production
# must set SECRET_KEY (manage.py check --deploy flags the default: sesconsole.checks).
DEVELOPMENT_SECRET_KEY = "django-insecure-sesconsole-development-key-change-me"
SECRET_KEY = env.str("SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "sesconsole.apps.SesconsoleConfig",
    "django_htmx",
    "template_partials",
    "accounts",
    "identities",
    "templates_app",
    "api",
    "verification",
    "sending",
    "smtp",
]

MIDDLEWARE = [
    "sesconsole.middleware.request_id_middleware",
    "sesconsole.middleware.health_check_middleware",
    "django.middleware.security.SecurityMiddleware",
    # SES API requests leave the chain here, straight to their view (api/middleware.py says
    # what they keep).
    "api.middleware.api_requests_middleware",
    "sesconsole.middleware.security_headers_middleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "sesconsole.middleware.refuse_nul_middleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "sesconsole.urls"
WSGI_APPLICATION = "sesconsole.wsgi.application"
ASGI_APPLICATION = "sesconsole.asgi.application"

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
                "accounts.context_processors.console",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'sesconsole.sqlite3'}"),
}
# Persistent connections by default: opening a PostgreSQL connection (TCP, authentication,
# backend start) cost more than a whole GetEmailIdentity (bench/api.py: 17-19 ms a call with
# 0, 4-6 ms with 60), and the health check below makes reuse safe across database restarts.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
# With persistent connections (CONN_MAX_AGE > 0), test a reused connection before each request,
# so the first requests after a database restart do not fail on a connection it closed.
DATABASES["default"].setdefault(
    "CONN_HEALTH_CHECKS", env.bool("DATABASE_CONN_HEALTH_CHECKS", default=True)
)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The same backend, pinging only connections that sat idle (sesconsole/postgresql/base.py).
    DATABASES["default"]["ENGINE"] = "sesconsole.postgresql"
    # Lets the API's per-call reads run as prepared statements (sesconsole.postgresql's
    # prepared_cursor); Django's own queries bind on the client and are never prepared. Turn it
    # off behind a transaction-mode pooler that cannot keep prepared statements.
    if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault("prepare_threshold", 5)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process, the worker and beat share the file without "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # A file, not :memory:, so worker processes started by integration tests share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-sesconsole.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Django's ModelBackend, loading the user's account with the user (one query, not two).
AUTHENTICATION_BACKENDS = ["accounts.backends.ModelBackendWithMembership"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns at start-up when it's missing
STATICFILES_DIRS = [BASE_DIR / "static"]
# The image sets STATICFILES_BACKEND to whitenoise's CompressedManifestStaticFilesStorage
# (hashed names, compressed copies, cached forever) and WHITENOISE_USE_FINDERS=false, for
# collectstatic at build time and for the running container alike.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_BACKEND",
            default="django.contrib.staticfiles.storage.StaticFilesStorage",
        )
    },
}

# Serve static files from the apps' folders directly: `make run` needs no collectstatic step.
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=True)

# Custom verification templates may be up to 10 MB, and the API receives them as JSON. Only
# the send operations take more, up to SES's message limits (api.body_size).
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024

# --- Secrets at rest -------------------------------------------------------------------
# Fernet keys (urlsafe base64, 32 bytes) for private keys, access-key secrets and TSIG
# secrets. The first key encrypts; all of them decrypt, so keys can be rotated. Without the
# variable a key is derived from SECRET_KEY, which is fine for the embedded mode only.
SECRETS_ENCRYPTION_KEYS = env.list("SECRETS_ENCRYPTION_KEYS", default=[])

# --- Expected DNS records (mirror SES by default; self-hosters point them at their zone) ---
SIGNING_HOSTED_ZONE = env.str("SIGNING_HOSTED_ZONE", default="dkim.amazonses.com")
MAIL_FROM_MX_DOMAIN = env.str("MAIL_FROM_MX_DOMAIN", default="amazonses.com")
SPF_INCLUDE_DOMAIN = env.str("SPF_INCLUDE_DOMAIN", default="amazonses.com")
DMARC_RECOMMENDED_VALUE = env.str("DMARC_RECOMMENDED_VALUE", default="v=DMARC1; p=none;")

# --- Limits from the SES documentation -------------------------------------------------
MAX_IDENTITIES_PER_REGION = env.int("MAX_IDENTITIES_PER_REGION", default=10_000)

# --- Benchmarks ----------------------------------------------------------------------------
# Routes the unauthenticated /_bench/noop view bench/api.py uses as its ceiling. Never in prod.
SESCONSOLE_BENCH = env.bool("SESCONSOLE_BENCH", default=False)

# --- DNS lookups ---------------------------------------------------------------------------
DNS_NAMESERVERS = env.list("DNS_NAMESERVERS", default=[])
DNS_PORT = env.int("DNS_PORT", default=53)
DNS_TIMEOUT = env.float("DNS_TIMEOUT", default=3.0)
# Lookups in flight per check task: ~100 keeps one process at its ceiling
# (docs/design.md, "Hot paths").
DNS_CONCURRENCY = env.int("DNS_CONCURRENCY", default=100)
# For running sesconsole as a local SES stand-in in CI: new domain identities are verified at
# once, without looking at DNS (recorded in each identity's history). Never in production.
DNS_AUTO_VERIFY = env.bool("DNS_AUTO_VERIFY", default=False)
# Staff users get a "Verify without DNS" button on the identity page (the admin action's twin),
# so a laptop without a DNS zone can reach Verified. On by default for the embedded mode;
# docker-compose.yml turns it off.
CONSOLE_VERIFY_WITHOUT_DNS = env.bool("CONSOLE_VERIFY_WITHOUT_DNS", default=True)

# --- DNS publishing (RFC 2136 to the accounts' own servers) --------------------------------
# An account's DNS server must be on a public address and port 53 (identities.dns_destinations):
# a self-hoster whose primary sits on a private network lists it here ("10.0.0.0/8,fd00::/8"),
# and any other port its primaries listen on. The operator's servers (admin) are not limited.
DNS_PUBLISH_ALLOWED_NETWORKS = env.list("DNS_PUBLISH_ALLOWED_NETWORKS", default=[])
DNS_PUBLISH_ALLOWED_PORTS = env.list("DNS_PUBLISH_ALLOWED_PORTS", cast=int, default=[53])
for _network in DNS_PUBLISH_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(
            f"DNS_PUBLISH_ALLOWED_NETWORKS: {_network!r} is not a network ({_exc})."
        ) from None
# Seconds one exchange with a DNS server may take, and a whole "Publish DNS records" run.
DNS_PUBLISH_TIMEOUT = env.float("DNS_PUBLISH_TIMEOUT", default=5.0)
DNS_PUBLISH_DEADLINE = env.float("DNS_PUBLISH_DEADLINE", default=30.0)
# "Publish DNS records" runs an account may start per hour (each may cost a worker up to the
# deadline above).
DNS_PUBLISH_RUNS_PER_HOUR = env.int("DNS_PUBLISH_RUNS_PER_HOUR", default=30)

# --- Celery ------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str(
    "CELERY_BROKER_URL", default=f"sqla+sqlite:///{VAR_DIR / 'celery-broker.sqlite3'}"
)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
# Without this, Celery's Django fixup closes the database connections before and after every
# task, so each task paid a new PostgreSQL connection (a server process started, the login,
# every prepared statement prepared again). With it the fixup closes them only every this many
# tasks, and sesconsole.celery checks them around each task as Django does around a request
# (CONN_MAX_AGE, CONN_HEALTH_CHECKS, a connection left broken or in a transaction).
CELERY_DB_REUSE_MAX = 1000
# How often beat runs the DNS sweep, and how long a sweep's lease on the identities it checks
# lasts (identities.dns_check): longer than a check task may run, so a live worker never loses
# it; the identities of a worker killed mid-check are claimed again once it expires.
DNS_SWEEP_INTERVAL = env.int("DNS_SWEEP_INTERVAL", default=60)
DNS_CHECK_LEASE_SECONDS = env.int(
    "DNS_CHECK_LEASE_SECONDS", default=max(300, CELERY_TASK_TIME_LIMIT + 60)
)
if DNS_CHECK_LEASE_SECONDS < CELERY_TASK_TIME_LIMIT + 10:
    raise ImproperlyConfigured(
        "DNS_CHECK_LEASE_SECONDS must be at least CELERY_TASK_TIME_LIMIT + 10: a check queued "
        "under a lease must be able to start and finish before the lease runs out."
    )
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# A web request that queues work must not hang when the broker is down: give up after about
# a second (sesconsole.enqueue logs it and the periodic sweeps redo the work).
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 5}

# --- Mail ------------------------------------------------------------------------------------
# With EMAIL_HOST, outgoing mail (the account's sends and verification mails) is relayed to
# that SMTP server; without it (the embedded mode) it is kept on the console's Sent messages
# page: sending.delivery relays only through Django's SMTP backend and keeps mail otherwise.
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if env.str("EMAIL_HOST", default="")
    else "django.core.mail.backends.dummy.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="127.0.0.1")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="no-reply@sesconsole.localhost")
# Verification mails: the name in the subject ("<brand> – Email Address Verification Request
# in region …"), the address the fixed footer tells worried recipients to write to (SES FAQ
# Q10), and how often Resend may be used per identity.
VERIFICATION_MAIL_BRAND = env.str("VERIFICATION_MAIL_BRAND", default="sesconsole")
VERIFICATION_CONCERNS_ADDRESS = env.str("VERIFICATION_CONCERNS_ADDRESS", default=DEFAULT_FROM_EMAIL)
VERIFICATION_RESEND_INTERVAL = env.int("VERIFICATION_RESEND_INTERVAL", default=60)
# The address verification links are built on (scheme://host[:port]).
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")

# Sending: the domain of SES-style Message-IDs and of the default MAIL FROM domain
# (`<region>.<SENDING_DOMAIN>`, plain `<SENDING_DOMAIN>` in us-east-1; see sending.envelope).
SENDING_DOMAIN = env.str("SENDING_DOMAIN", default="amazonses.com")
# A delivery claimed this long ago without an outcome was lost with its worker (seconds); the
# sweep of unfinished deliveries runs every SENDING_SWEEP_INTERVAL seconds.
SENDING_LEASE_SECONDS = env.int(
    "SENDING_LEASE_SECONDS", default=max(600, CELERY_TASK_TIME_LIMIT + 60)
)
SENDING_SWEEP_INTERVAL = env.int("SENDING_SWEEP_INTERVAL", default=60)
# LocalStack's GET/DELETE /_aws/ses for test suites (api.localstack): on in the embedded mode,
# off with a relay (production) unless turned on.
SES_MESSAGES_ENDPOINT = env.bool(
    "SES_MESSAGES_ENDPOINT", default=not env.str("EMAIL_HOST", default="")
)

# --- SMTP submission server (manage.py smtp_server; smtp/server.py) ------------------------
# The embedded defaults listen on loopback ports above 1024: STARTTLS on SMTP_PORT, implicit TLS
# ("TLS Wrapper") on SMTP_TLS_PORT (0 turns that listener off). Without SMTP_TLS_CERT_FILE and
# SMTP_TLS_KEY_FILE, a self-signed pair is created in VAR_DIR on first start.
SMTP_BIND_HOST = env.str("SMTP_BIND_HOST", default="127.0.0.1")
SMTP_PORT = env.int("SMTP_PORT", default=2587)
SMTP_TLS_PORT = env.int("SMTP_TLS_PORT", default=2465)
# The name in the banner and EHLO reply, and the server name the console's SMTP settings show.
SMTP_SERVER_NAME = env.str("SMTP_SERVER_NAME", default="localhost")
SMTP_TLS_CERT_FILE = env.str("SMTP_TLS_CERT_FILE", default="")
SMTP_TLS_KEY_FILE = env.str("SMTP_TLS_KEY_FILE", default="")
# SES's SMTP limit is 40 MB (ses-sending.md §3), advertised in EHLO as SIZE.
SMTP_MAX_MESSAGE_SIZE = env.int("SMTP_MAX_MESSAGE_SIZE", default=40 * 1024 * 1024)
# Seconds a session may sit idle between commands before it is closed (SES: about 10).
SMTP_TIMEOUT = env.float("SMTP_TIMEOUT", default=30.0)
SMTP_MAX_CONNECTIONS = env.int("SMTP_MAX_CONNECTIONS", default=100)
# Threads that run the database work of SMTP sessions (logins, sends) beside the event loop.
SMTP_WORKER_THREADS = env.int("SMTP_WORKER_THREADS", default=8)
# How long an open SMTP session reuses what the send operation read for its earlier messages
# (settings, identities, its key, configuration sets): a change made elsewhere reaches open
# sessions within this many seconds. 0 reads for every message (sending/read_ahead.py).
SMTP_SESSION_READ_AHEAD_SECONDS = env.float("SMTP_SESSION_READ_AHEAD_SECONDS", default=1.0)
# SES refuses AUTH before STARTTLS. The embedded mode may allow it for clients on loopback
# (127.0.0.0/8, ::1) only; a connection from any other address still needs TLS.
SMTP_ALLOW_PLAINTEXT_AUTH_ON_LOOPBACK = env.bool(
    "SMTP_ALLOW_PLAINTEXT_AUTH_ON_LOOPBACK", default=False
)

# --- Security ------------------------------------------------------------------------------
# The Content-Security-Policy is set by sesconsole.middleware (no inline script or style).
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if env.bool("HTTPS", default=False):
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # Only a registrable domain can be submitted to the preload list; the directive alone
    # changes nothing for a console on a subdomain. Set false to keep the option closed.
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Every line carries request=<id> task=<id> (sesconsole.logs); LOG_FORMAT=json writes one
# JSON object per line. Celery keeps this configuration instead of installing its own.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured("LOG_FORMAT must be plain or json.")
LOGGING = logging_config(
    level=env.str("LOG_LEVEL", default="INFO"), json_format=LOG_FORMAT == "json"
)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

if min(SMTP_MAX_CONNECTIONS, SMTP_WORKER_THREADS, SMTP_MAX_MESSAGE_SIZE) < 1:
    raise ImproperlyConfigured(
        "SMTP_MAX_CONNECTIONS, SMTP_WORKER_THREADS and SMTP_MAX_MESSAGE_SIZE must be positive."
    )
if SMTP_SESSION_READ_AHEAD_SECONDS < 0:
    raise ImproperlyConfigured("SMTP_SESSION_READ_AHEAD_SECONDS must be 0 or more.")
if MAX_IDENTITIES_PER_REGION < 1:
    raise ImproperlyConfigured("MAX_IDENTITIES_PER_REGION must be a positive number.")
