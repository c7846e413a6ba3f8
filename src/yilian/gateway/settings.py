"""The gateway's own settings, read from YILIAN_GATEWAY_* variables (the hospital has none of the cloud's)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class GatewaySettings(BaseSettings):
    """Built once when `yilian gateway` starts and passed down; no module-level mutable config."""

    model_config = SettingsConfigDict(env_prefix="YILIAN_GATEWAY_", extra="ignore")

    # DICOM side (towards the modalities on the hospital LAN).
    ae_title: str = Field(default="YILIAN_GW", min_length=1, max_length=16)
    # Loopback by default so a fresh install is not open to the LAN until someone decides it should be.
    host: str = "127.0.0.1"
    port: int = Field(default=11112, ge=0, le=65535)
    # Comma-separated AE titles that may send; empty accepts any calling AE (logged as a warning at start).
    allowed_calling_aes: Annotated[list[str], NoDecode] = []
    # Below this much free disk the SCP answers A700 (out of resources) instead of filling the disk.
    min_free_bytes: int = Field(default=100 * 1024 * 1024, ge=0)
    # Association limits (issue 16 item 8). Only associations from an allowed calling AE count against
    # max_associations, so idle sockets and strangers cannot lock the modalities out; a connection that has not
    # asked for an association within association_request_seconds is closed, and an association silent for
    # idle_seconds is aborted. max_connections caps every socket at once (threads), identified or not.
    max_associations: int = Field(default=32, ge=1)
    max_connections: int = Field(default=128, ge=1)
    association_request_seconds: float = Field(default=5.0, gt=0)
    idle_seconds: float = Field(default=60.0, gt=0)

    # Queue.
    spool_dir: Path = Path("var/gateway")
    retention_days: float = Field(default=7.0, ge=0)

    # Cloud side (STOW-RS over HTTPS).
    cloud_url: str = "http://127.0.0.1:8000"
    api_key: SecretStr | None = None
    ca_bundle: Path | None = None  # a private CA for the cloud's certificate; None uses the system store
    batch_size: int = Field(default=20, ge=1)
    batch_bytes: int = Field(default=64 * 1024 * 1024, ge=1)
    # How long the uploader waits after a new instance arrives, so a series goes in few requests.
    batch_linger_seconds: float = Field(default=0.2, ge=0)
    # STOW-RS requests in flight at once: the cloud stores each batch while the next one is on the wire.
    upload_lanes: int = Field(default=4, ge=1, le=32)
    request_timeout_seconds: float = Field(default=120.0, gt=0)
    backoff_min_seconds: float = Field(default=1.0, gt=0)
    backoff_max_seconds: float = Field(default=60.0, gt=0)

    # Prometheus /metrics of the queue (docs/ops.md): off unless a port is set; loopback unless a token guards it.
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    metrics_token: str | None = None

    @field_validator("allowed_calling_aes", mode="before")
    @classmethod
    def _split_titles(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [title.strip() for title in value.split(",") if title.strip()]
        return value

    @field_validator("cloud_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _backoff_in_order(self) -> GatewaySettings:
        if self.backoff_max_seconds < self.backoff_min_seconds:
            raise ValueError("YILIAN_GATEWAY_BACKOFF_MAX_SECONDS is below YILIAN_GATEWAY_BACKOFF_MIN_SECONDS")
        return self

    @property
    def database_path(self) -> Path:
        return self.spool_dir / "queue.sqlite3"

    @property
    def stow_url(self) -> str:
        """The STOW-RS Store Instances resource (PS3.18 §10.5): POST {cloud}/dicomweb/studies."""
        return f"{self.cloud_url}/dicomweb/studies"
