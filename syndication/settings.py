"""Process settings: one typed object, read from ``SYNDICATION_*`` environment variables.

The operator's TOML (sources, channels, webhooks) is :mod:`syndication.config`; these are the settings
of the running processes (where the database and broker are, where to listen, the knobs of fetching and
delivery). Stages never read them: the edges pass the values they need as arguments.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_CONFIG = "config/syndication.toml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SYNDICATION_", extra="ignore")

    config: str = Field(DEFAULT_CONFIG, description="path of the operator's TOML file")
    data_dir: Path = Field(Path("data"), description="folder for the SQLite database and embedded broker")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default: SQLite in data_dir")
    broker_url: str | None = Field(None, description="Celery broker URL; default: embedded Redis in data_dir")
    listen: str = Field("127.0.0.1:8080", description="host:port of the web app")
    public_url: str | None = Field(None, description="URL the feeds are reachable at (for self links)")

    # fetching
    fetch_timeout: float = 20.0
    fetch_total_timeout: float = 60.0
    fetch_max_bytes: int = 10 * 1024 * 1024
    poll_lease_seconds: int = 600  # a claimed poll is re-scheduled if not finished by then
    failure_backoff_max: int = 6 * 3600  # ceiling of a failing source's back-off

    # webhooks
    webhook_timeout: float = 15.0
    webhook_max_attempts: int = 10
    webhook_retry_base: float = 2.0  # seconds before the 2nd attempt; doubles each time (with jitter)
    webhook_retry_cap: float = 3600.0
    webhook_hold: bool = False  # ingest does not enqueue deliveries (`run --once` releases them itself)

    # beat
    schedule_every: float = 5.0  # seconds between schedule_due runs
    sweep_every: float = 30.0  # seconds between sweeps for lost work

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str) -> str:
        host, sep, port = v.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"listen must be HOST:PORT, got {v!r}")
        return v

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'syndication.db').resolve()}"

    @property
    def embedded_broker(self) -> bool:
        return not self.broker_url

    @property
    def embedded_broker_socket(self) -> Path:
        return (self.data_dir / "broker" / "redis.sock").resolve()

    @property
    def effective_broker_url(self) -> str:
        if self.broker_url:
            return self.broker_url
        return f"redis+socket://{self.embedded_broker_socket}"

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = self.host if self.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
        return f"http://{host}:{self.port}"


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
