"""Settings, all read from the environment.

Profiles (``DJANGO_ENV``):
- ``development`` (default): the embedded setup of ``make run``. With no DATABASE_URL it uses SQLite, and with no
  REDIS_URL Celery runs on kombu's filesystem transport and the cache lives in files, so nothing needs a server.
- ``production``: secrets and hosts must be given; HTTPS-only cookies, HSTS and SSL redirect are on.
- ``test``: set by ``config.settings_test`` for the pytest suite.

Every variable is listed in the README's production section.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DJANGO_ENV = env_str("DJANGO_ENV", "development")
if DJANGO_ENV not in {"development", "production", "test"}:
    raise ImproperlyConfigured(f"DJANGO_ENV must be development, production or test, not {DJANGO_ENV!r}")
IS_PRODUCTION = DJANGO_ENV == "production"

# Everything the process writes at run time (SQLite file, uploads, broker folders, file cache) lives here.
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var"))).resolve()

DEBUG = env_bool("DJANGO_DEBUG", not IS_PRODUCTION and DJANGO_ENV != "test")

if IS_PRODUCTION:
    SECRET_KEY = env_str("DJANGO_SECRET_KEY", "")
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set to a random string of at least 50 characters")
    ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [])
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must list the host names the site is served under")
else:
    SECRET_KEY = env_str("DJANGO_SECRET_KEY", "dev-only-insecure-key-never-used-in-production-0123456789")
    ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])

CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "guardian",
    "django_celery_beat",
    "rest_framework",
    # Failed logins counted per username and address, locked in the database (see "login lockout" below).
    "axes",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Ours, in dependency order: aftersales imports none of the others; metrics may read all;
    # config is the top (urls, health, demo data) and may import every app.
    "aftersales",
    "logistics",
    "warehouse",
    # Marketplace connectors (Taobao/Tmall, Douyin): downstream of aftersales, which imports none of it.
    "marketplaces",
    "metrics",
    "config",
    # Benchmarks (DESIGN §7): may import every app; nothing imports it.
    "bench",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.middleware.ChosenLanguageMiddleware",
    # After the language is chosen, so its refusals are in the user's language.
    "config.middleware.RefuseUnstorableInputMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a login refused for a lockout into the lockout page (config.lockout).
    "axes.middleware.AxesMiddleware",
]

if IS_PRODUCTION:
    # gunicorn serves /static/ itself through WhiteNoise (collectstatic fills STATIC_ROOT at deploy time).
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60))}
else:
    if IS_PRODUCTION:
        raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL in production")
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # SQLite does not create the folder of its file
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "aftersales.sqlite3",
            "OPTIONS": {
                # The web server, the worker and beat write to one file: WAL lets readers go on while one writes,
                # IMMEDIATE takes the write lock at BEGIN so two writers queue instead of failing mid-transaction.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: broker, cache, locks ------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if IS_PRODUCTION and not REDIS_URL:
    raise ImproperlyConfigured("REDIS_URL must be set in production (broker, cache and locks)")
# How long a Redis call may hang before we give up: a dead Redis must never freeze a page.
REDIS_SOCKET_TIMEOUT = env_int("REDIS_SOCKET_TIMEOUT_SECONDS", 2)

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "aftersales"),
            "OPTIONS": {
                "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
                "socket_timeout": REDIS_SOCKET_TIMEOUT,
            },
        }
    }
else:
    # A file cache, not local memory: the web server, worker and beat are separate processes and share it.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": VAR_DIR / "cache",
        }
    }

# --- Celery ---------------------------------------------------------------------------------------------------
CELERY_BROKER_DIR = VAR_DIR / "celery-broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
        "socket_timeout": REDIS_SOCKET_TIMEOUT,
    }
else:
    CELERY_BROKER_URL = "filesystem://"
    # kombu's filesystem transport does not create its message folders; without them the worker dies at start.
    for folder in ("queue", "control"):
        (CELERY_BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
    }
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_SOCKET_TIMEOUT
# Tasks keep their state in the database; results are never read.
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_ENABLE_UTC = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULER = "config.beat.HeartbeatDatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# A beat tick older than this makes /healthz answer 503 (beat's loop wakes at least every 5 s).
BEAT_STALE_AFTER_SECONDS = env_int("BEAT_STALE_AFTER_SECONDS", 120)
# Publishing a task never waits long for a broker that is down: the work is in the database and a sweep finds it.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY = False

# --- sweeps (DESIGN §4; the schedule itself is rows of django-celery-beat, editable in the admin) ----------------
# Rows per batch: each batch is one transaction holding its rows' locks, so a batch stays short. 500, not 200: a
# batch's cost is mostly its commit and its fixed queries (bench_sweep at 10,000 tickets: 200 took ~8 s, 500 and
# 1,000 ~5-6 s), and a batch of 500 still holds its locks a quarter of a second, which an agent opening one of its
# tickets waits at most. It is also metrics.dirty.MARK_BATCH, so a batch marks its days in one round of queries.
SWEEP_BATCH_SIZE = env_int("SWEEP_BATCH_SIZE", 500)
# A refund still pending this long after it was made lost its task; the refund sweep pays it.
SWEEP_PENDING_REFUND_GRACE_SECONDS = env_int("SWEEP_PENDING_REFUND_GRACE_SECONDS", 300)
# 即将超时 (a ticket this close to its platform deadline goes to the top of the queue) is per shop:
# Shop.deadline_warning_hours, set by the shop's manager.
# How long the API remembers an Idempotency-Key and its answer (purged nightly).
API_IDEMPOTENCY_KEY_DAYS = env_int("API_IDEMPOTENCY_KEY_DAYS", 7)

# --- auth and per-shop object permissions ---------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username + address before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
# We never grant object permissions to anonymous visitors, so guardian need not create its AnonymousUser row.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

# Login lockout (django-axes): the admin's login page and the API's token endpoint count failed logins per username
# and address; at AXES_FAILURE_LIMIT failures within the cool-off the pair is locked for the cool-off, with the right
# password refused too. The attempts live in the database (not the cache), so the lock holds with Redis down.
# A success resets the pair's count. Locked attempts do not extend the lock, so Retry-After tells the truth.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "config.lockout.locked_out_response"
AXES_CLIENT_IP_CALLABLE = "config.lockout.client_address"
# The address is REMOTE_ADDR unless this many proxies of ours stand in front and append to X-Forwarded-For: behind
# the production TLS proxy every login would otherwise come from the proxy, and 5 tries would lock a user everywhere.
LOGIN_TRUSTED_PROXY_COUNT = env_int(
    "LOGIN_TRUSTED_PROXY_COUNT", 1 if IS_PRODUCTION and env_bool("DJANGO_BEHIND_TLS_PROXY", True) else 0
)
# Successful logins are not logged by axes (its log would open a session for every token request).
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False

# API tokens (config.models.ApiToken) expire after this many hours; a password change revokes them at once.
API_TOKEN_TTL_HOURS = env_int("API_TOKEN_TTL_HOURS", 720)

# --- language and time ----------------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True

# --- files ----------------------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploads (order imports, later inspection evidence) sit outside the static root and are never served as static.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media"))).resolve()
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if IS_PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Inspection evidence: local files under MEDIA_ROOT, or an S3-compatible bucket (MinIO, OSS, COS, S3) when set.
EVIDENCE_S3_BUCKET = env_str("EVIDENCE_S3_BUCKET", "")
if EVIDENCE_S3_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": EVIDENCE_S3_BUCKET,
            "endpoint_url": env_str("EVIDENCE_S3_ENDPOINT_URL", "") or None,
            "region_name": env_str("EVIDENCE_S3_REGION", "") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
EVIDENCE_MAX_PHOTO_BYTES = env_int("EVIDENCE_MAX_PHOTO_BYTES", 15 * 1024 * 1024)
EVIDENCE_MAX_VIDEO_BYTES = env_int("EVIDENCE_MAX_VIDEO_BYTES", 300 * 1024 * 1024)
# Order import files: the biggest export a shop's back office produces is a few MB.
# Messages to couriers' group chats: real webhooks by default; scripts/run_local.sh (the demo) records them instead.
# How refunds reach the buyer (aftersales/gateways.py): the batch-refund file unless a marketplace adapter is named.
# marketplaces.gateway.MarketplaceRefundGateway routes each refund: a shop connected to its platform's API agrees it
# there, any other shop gets the batch file (BatchFileGateway) as before.
REFUND_GATEWAY = env_str("REFUND_GATEWAY", "marketplaces.gateway.MarketplaceRefundGateway")
GROUP_ROBOT_TRANSPORT = env_str("GROUP_ROBOT_TRANSPORT", "logistics.robots.HttpRobotTransport")
# Kuaidi100's intercept order (logistics/kuaidi100_intercept.py): its label/order API, and the desk's address as
# Kuaidi100 reaches it for the callbacks. `make run` points the first at the local simulator.
KUAIDI100_INTERCEPT_URL = env_str("KUAIDI100_INTERCEPT_URL", "https://api.kuaidi100.com/label/order")
KUAIDI100_CALLBACK_BASE_URL = env_str("KUAIDI100_CALLBACK_BASE_URL", "http://127.0.0.1:8000")
KUAIDI100_INTERCEPT_TIMEOUT = float(env_str("KUAIDI100_INTERCEPT_TIMEOUT", "10"))

ORDER_IMPORT_MAX_BYTES = env_int("ORDER_IMPORT_MAX_BYTES", 10 * 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 5000
# The largest body a form, an API call or a marketplace push may send (desk.input_checks.read_body); bigger
# ones are answered 413. Files (evidence, imports) stream past it and have their own limits above.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2621440)

# --- security -------------------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
if IS_PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", True)
    if env_bool("DJANGO_BEHIND_TLS_PROXY", True):
        # gunicorn sits behind a TLS-terminating proxy (nginx, a cloud load balancer) that sets this header.
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # /healthz is polled over plain HTTP by load balancers and must not be redirected.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# --- marketplace connectors (marketplaces/) -------------------------------------------------------------------------
# Fernet keys (urlsafe base64, 32 bytes) that encrypt the shops' app secrets and tokens at rest, newest first: the
# first encrypts, every one decrypts, so a new key goes in front and `manage.py marketplace_rotate_secrets`
# re-encrypts everything with it before the old one is dropped. Outside production a key derived from SECRET_KEY
# stands in so `make run` works with no setup.
MARKETPLACE_SECRET_KEYS = env_list("MARKETPLACE_SECRET_KEYS", [])
if IS_PRODUCTION and not MARKETPLACE_SECRET_KEYS:
    raise ImproperlyConfigured("MARKETPLACE_SECRET_KEYS must hold at least one Fernet key in production")
# Each platform call gives up after this long; an unanswered write is then read back before anything is sent again.
MARKETPLACE_HTTP_TIMEOUT_SECONDS = float(env_str("MARKETPLACE_HTTP_TIMEOUT_SECONDS", "10"))
# A token that expires within this many days shows as "expiring" to the managers.
MARKETPLACE_TOKEN_EXPIRING_DAYS = env_int("MARKETPLACE_TOKEN_EXPIRING_DAYS", 3)

# --- REST API (/api/v1/, issue 9) --------------------------------------------------------------------------------
# The 抖店 app whose after-sales pushes /api/v1/marketplaces/douyin/push/ accepts (signature: docs/douyin-push.md).
DOUYIN_APP_KEY = env_str("DOUYIN_APP_KEY", "")
DOUYIN_APP_SECRET = env_str("DOUYIN_APP_SECRET", "")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "config.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "desk.api.support.DeskAutoSchema",
    # DRF's parsers through desk.input_checks: a size limit (413), bounded JSON nesting, no NUL or lone
    # surrogate in any string.
    "DEFAULT_PARSER_CLASSES": [
        "desk.api.parsers.StrictJSONParser",
        "desk.api.parsers.LimitedFormParser",
        "desk.api.parsers.LimitedMultiPartParser",
    ],
    "EXCEPTION_HANDLER": "desk.api.support.api_exception_handler",
    "DEFAULT_FILTER_BACKENDS": ["desk.api.filters.DeskFilterBackend"],
    # DRF's UserRateThrottle, except that an unreachable cache lets calls through (logged) instead of failing them.
    "DEFAULT_THROTTLE_CLASSES": ["config.throttling.FailOpenUserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": env_str("API_THROTTLE_USER_RATE", "6000/minute")},
}
# The API's docs are served from the sidecar's static files: nothing is fetched from a CDN.
SPECTACULAR_SETTINGS = {
    "TITLE": "After-sales Desk API",
    "DESCRIPTION": "Orders, after-sales tickets, metrics and the staffing forecast, with the admin's rules.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "TicketKindEnum": "aftersales.models.TicketKind",
        "KnownTicketKindEnum": "aftersales.models.KNOWN_TICKET_KIND_CHOICES",
        "RefundKindEnum": "aftersales.models.Refund.Kind",
        "LiabilityEnum": "aftersales.models.Liability",
        "MerchantLiabilityEnum": "aftersales.models.MerchantLiability",
    },
}
