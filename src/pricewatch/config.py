"""The one configuration object. Nothing else in pricewatch reads the environment.

Every setting can be given as an environment variable with the `PW_` prefix, groups joined by one
underscore (`PW_FETCH_MAX_BYTES`, `PW_BROWSER_EXECUTABLE_PATH`), or in a `.env` file in the
working directory. Values are validated when `load_settings()` runs, at start-up.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

import platformdirs
from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import URL

DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def _comma_list(value: object) -> object:
    """A list setting may come from the environment as one comma-separated string."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class FetchSettings(BaseModel):
    """HTTP fetching limits and the SSRF allow-list."""

    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=20.0, gt=0)
    total_timeout: float = Field(default=45.0, gt=0)
    max_bytes: int = Field(default=8 * 1024 * 1024, gt=0)
    max_redirects: int = Field(default=5, ge=0)
    retries: int = Field(default=2, ge=0)
    backoff_base: float = Field(default=0.5, ge=0)
    backoff_max: float = Field(default=20.0, ge=0)
    user_agent: str = DEFAULT_USER_AGENT
    accept_language: str = "en-US,en;q=0.9,fr;q=0.8,de;q=0.7"
    #: Hosts, addresses or networks (CIDR) that may be fetched although they are private or local.
    allow_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)

    _split_commas = field_validator("allow_hosts", mode="before")(_comma_list)

    @property
    def allowed_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """The allow-list entries that are addresses or networks."""
        networks = []
        for entry in self.allow_hosts:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                continue
        return tuple(networks)

    @property
    def allowed_hostnames(self) -> frozenset[str]:
        """The allow-list entries that are host names (lower-case)."""
        names = set()
        for entry in self.allow_hosts:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                names.add(entry.lower().rstrip("."))
        return frozenset(names)


class BrowserSettings(BaseModel):
    """The headless browser used for pages that need JavaScript."""

    executable_path: Path = Path("/usr/bin/chromium")
    #: auto: use the browser when the HTTP page looks like a JavaScript shell; never; always.
    mode: Literal["auto", "never", "always"] = "auto"
    timeout: float = Field(default=30.0, gt=0)
    #: Extra time after the load event for late prices to render (milliseconds).
    settle_ms: int = Field(default=500, ge=0)


class DbSettings(BaseModel):
    """The application database: `url`, or its parts for PostgreSQL; default a SQLite file."""

    url: str | None = None
    host: str | None = None
    port: int = Field(default=5432, gt=0, lt=65536)
    name: str = "pricewatch"
    user: str | None = None
    password: SecretStr | None = None
    echo: bool = False
    pool_size: int = Field(default=5, ge=1)
    #: SQLite only: how long a writer waits for another writer's lock (seconds).
    busy_timeout: float = Field(default=30.0, gt=0)


class JobsSettings(BaseModel):
    """How background jobs run (`PW_JOBS_*`)."""

    #: Items of a catalog-wide job fetched at once.
    concurrency: int = Field(default=4, ge=1, le=256)
    #: Hard limit on one run of a job, in seconds.
    time_limit: float = Field(default=6 * 3600.0, gt=0)
    #: Seconds between lease renewals of a running job.
    heartbeat_seconds: float = Field(default=10.0, gt=0)
    #: Seconds between two looks at a running job's cancel flag (bounds the cancel latency).
    cancel_poll_seconds: float = Field(default=1.0, gt=0)
    #: A running job silent for this long is taken to have lost its worker.
    stale_after_seconds: float = Field(default=120.0, gt=0)
    #: Runs of a job that failed for a transient reason (database or broker down), in all.
    max_attempts: int = Field(default=3, ge=1)
    retry_base_seconds: float = Field(default=2.0, ge=0)
    retry_cap_seconds: float = Field(default=300.0, ge=0)
    #: Lease of a per-product lock; outlives any one fetch, so only a dead holder loses it.
    lock_ttl_seconds: float = Field(default=300.0, gt=0)

    @property
    def lock_ttl(self) -> timedelta:
        """`lock_ttl_seconds` as a timedelta."""
        return timedelta(seconds=self.lock_ttl_seconds)


class WorkerSettings(BaseModel):
    """How `pricewatch worker` runs (`PW_WORKER_*`)."""

    #: Jobs run at once by one worker process (Huey worker threads or processes).
    workers: int = Field(default=2, ge=1, le=64)
    worker_type: Literal["thread", "process"] = "thread"
    #: Seconds a stopping worker waits for its jobs to hand themselves back.
    shutdown_timeout: float = Field(default=15.0, ge=0)
    #: Deliveries of a task whose job could not even be claimed (database down).
    claim_attempts: int = Field(default=5, ge=1)
    #: Niceness added to worker processes (0-19): the web process gets the CPU first.
    nice: int = Field(default=10, ge=0, le=19)


class SchedulerSettings(BaseModel):
    """The scheduler tick and the maintenance it runs (`PW_SCHEDULER_*`)."""

    #: Seconds between two ticks (`pricewatch scheduler`, Celery beat).
    tick_seconds: float = Field(default=30.0, ge=1)
    #: Scraping logs, job log lines and finished jobs older than this are deleted (days).
    retention_days: float = Field(default=30.0, gt=0)
    #: Seconds between two prunes (one scheduler at a time does it).
    prune_every_seconds: float = Field(default=3600.0, gt=0)
    #: Seconds between two recorded health checks of the database and the broker.
    health_every_seconds: float = Field(default=30.0, gt=0)

    @property
    def retention(self) -> timedelta:
        """`retention_days` as a timedelta."""
        return timedelta(days=self.retention_days)

    @property
    def prune_every(self) -> timedelta:
        """`prune_every_seconds` as a timedelta."""
        return timedelta(seconds=self.prune_every_seconds)

    @property
    def health_every(self) -> timedelta:
        """`health_every_seconds` as a timedelta."""
        return timedelta(seconds=self.health_every_seconds)


class RunSettings(BaseModel):
    """`pricewatch run` behaviour."""

    concurrency: int = Field(default=8, ge=1, le=256)


class WebSettings(BaseModel):
    """The web process: where it listens, sessions and login protection (`PW_WEB_*`)."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, gt=0, lt=65536)
    #: Session cookies carry `Secure`: "auto" when the request came over https (directly or
    #: through a proxy listed in `forwarded_allow_ips`), "always", or "never".
    secure_cookies: Literal["auto", "always", "never"] = "auto"
    #: Addresses of reverse proxies whose X-Forwarded-Proto/For headers are trusted.
    forwarded_allow_ips: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.1"]
    )
    #: How long a login lasts without activity, in hours.
    session_hours: float = Field(default=14 * 24.0, gt=0)
    #: Failed logins allowed per username and per client address within `login_window_seconds`.
    login_max_failures: int = Field(default=5, ge=1)
    login_window_seconds: float = Field(default=900.0, gt=0)

    _split_commas = field_validator("forwarded_allow_ips", mode="before")(_comma_list)


class Settings(BaseSettings):
    """All of pricewatch's settings."""

    model_config = SettingsConfigDict(
        env_prefix="PW_",
        env_nested_delimiter="_",
        env_nested_max_split=1,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    data_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("pricewatch")))
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    db: DbSettings = Field(default_factory=DbSettings)
    #: The job queue: unset or a SQLite path -> embedded Huey queue; redis:// or amqp:// -> Celery.
    broker_url: str | None = None
    jobs: JobsSettings = Field(default_factory=JobsSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    browser: BrowserSettings = Field(default_factory=BrowserSettings)
    run: RunSettings = Field(default_factory=RunSettings)
    web: WebSettings = Field(default_factory=WebSettings)

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL: PW_DB_URL, else built from PW_DB_HOST..., else SQLite in data_dir."""
        if self.db.url:
            return self.db.url
        if self.db.host:
            return URL.create(
                "postgresql+psycopg",
                username=self.db.user,
                password=self.db.password.get_secret_value() if self.db.password else None,
                host=self.db.host,
                port=self.db.port,
                database=self.db.name,
            ).render_as_string(hide_password=False)
        return f"sqlite:///{self.data_dir / 'pricewatch.db'}"

    @property
    def spool_path(self) -> Path:
        """Where snapshots wait when the database cannot take them (JSON lines)."""
        return self.data_dir / "spool.jsonl"


def load_settings(**overrides: object) -> Settings:
    """Read and validate the settings from the environment and `.env`; raise on bad values."""
    return Settings(**overrides)  # type: ignore[arg-type]
