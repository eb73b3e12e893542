"""One frozen Settings object, read from GRANTS_* environment variables."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

DEFAULT_DATA_DIR = Path("var")


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Everything the app reads from its environment; never mutated after start-up."""

    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str = ""
    secret_key: str = ""
    base_url: str = "http://127.0.0.1:8000"
    debug: bool = False
    https_only: bool = False
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    mail_from: str = "Prevention Prize <noreply@prevention-prize.local>"
    max_request_mb: int = 60
    login_attempts_per_account: int = 5
    login_attempts_per_ip: int = 30
    login_window_seconds: int = 900
    # Whose X-Forwarded-For / X-Forwarded-Proto `grants serve` believes: a comma-separated list
    # of the reverse proxy's addresses ("*" for any); empty (the default) believes none, so no
    # client can pick the address that log-in throttling and the audit trail see.
    forwarded_allow_ips: str = ""
    log_format: str = "text"  # or "json": one JSON object a line (grants/logs.py)
    # Sessions: ended after this long without a request (shorter for organisers, jurors and
    # admins, who see other people's data), and in any case this many days after log-in.
    session_idle_minutes: int = 480
    session_staff_idle_minutes: int = 120
    session_days: int = 14

    @property
    def upload_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite://{self.data_dir / 'grants.sqlite3'}?busy_timeout=5000"

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def _secret_key(data_dir: Path) -> str:
    """A stable secret: from the environment, else one generated once and kept in data_dir.

    Why a file: sessions must survive restarts of `make run` without the user configuring
    anything, and a secret must never live in the repository.
    """
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


LOG_FORMATS = ("text", "json")


def _log_format(value: str) -> str:
    chosen = value.strip().lower()
    if chosen not in LOG_FORMATS:
        raise ValueError(f"GRANTS_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}: {value!r}")
    return chosen


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build Settings from GRANTS_* variables (defaults give a working local set-up)."""
    env = os.environ if environ is None else environ
    data_dir = Path(env.get("GRANTS_DATA_DIR", str(DEFAULT_DATA_DIR)))
    return Settings(
        data_dir=data_dir,
        database_url=env.get("GRANTS_DATABASE_URL", ""),
        secret_key=env.get("GRANTS_SECRET_KEY") or _secret_key(data_dir),
        base_url=env.get("GRANTS_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
        debug=_bool(env.get("GRANTS_DEBUG", "0")),
        https_only=_bool(env.get("GRANTS_HTTPS_ONLY", "0")),
        smtp_host=env.get("GRANTS_SMTP_HOST", "127.0.0.1"),
        smtp_port=int(env.get("GRANTS_SMTP_PORT", "8025")),
        mail_from=env.get("GRANTS_MAIL_FROM", Settings.mail_from),
        log_format=_log_format(env.get("GRANTS_LOG_FORMAT", Settings.log_format)),
        forwarded_allow_ips=env.get("GRANTS_FORWARDED_ALLOW_IPS", "").strip(),
        session_idle_minutes=int(
            env.get("GRANTS_SESSION_IDLE_MINUTES", str(Settings.session_idle_minutes))
        ),
        session_staff_idle_minutes=int(
            env.get("GRANTS_SESSION_STAFF_IDLE_MINUTES", str(Settings.session_staff_idle_minutes))
        ),
        session_days=int(env.get("GRANTS_SESSION_DAYS", str(Settings.session_days))),
    )
