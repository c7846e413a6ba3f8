"""The gateway's own settings, read from YILIAN_GATEWAY_* variables (the hospital has none of the cloud's)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


@dataclass(frozen=True)
class PacsDestination:
    """The hospital's PACS, where signed reports are stored by C-STORE."""

    ae_title: str
    host: str
    port: int


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
    # Who speaks DICOM to the modalities (docs/gateway.md): "lean" serves plain storage associations in
    # gateway.storage_scp (one thread, PDUs in bytes) and hands every other one to pynetdicom; "pynetdicom" serves
    # them all through pynetdicom, as before.
    scp: Literal["lean", "pynetdicom"] = "lean"

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
    # How often the gateway checks whether the cloud knows its current quarantine (gateway/quarantine.py); a report
    # goes only when the list changed since the last one the cloud acknowledged.
    report_seconds: float = Field(default=30.0, gt=0)

    # The hospital's PACS, where the gateway stores signed reports (a PDF and an SR per signed version): its AE
    # title, host and port, all three or none (none: reports are not fetched).
    pacs_ae_title: str | None = Field(default=None, min_length=1, max_length=16)
    pacs_host: str | None = None
    pacs_port: int | None = Field(default=None, ge=1, le=65535)
    # How often the gateway asks the cloud for newly signed reports.
    report_poll_seconds: float = Field(default=30.0, gt=0)
    # Workstations a C-MOVE may send to, as AE=host:port, comma-separated, e.g. `WS1=10.1.2.3:104`.
    move_destinations: Annotated[dict[str, tuple[str, int]], NoDecode] = {}

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

    @field_validator("move_destinations", mode="before")
    @classmethod
    def _parse_destinations(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        table: dict[str, tuple[str, int]] = {}
        for entry in (e.strip() for e in value.split(",") if e.strip()):
            title, _, address = entry.partition("=")
            host, _, port = address.strip().rpartition(":")
            if not title.strip() or not host or not port.isdigit():
                raise ValueError(f"{entry!r} is not AE=host:port")
            table[title.strip()] = (host, int(port))
        return table

    @model_validator(mode="after")
    def _pacs_whole(self) -> GatewaySettings:
        given = [self.pacs_ae_title, self.pacs_host, self.pacs_port]
        if any(v is not None for v in given) and not all(v is not None for v in given):
            raise ValueError("set all of YILIAN_GATEWAY_PACS_AE_TITLE, _PACS_HOST and _PACS_PORT, or none")
        return self

    @property
    def pacs(self) -> PacsDestination | None:
        if self.pacs_ae_title is None or self.pacs_host is None or self.pacs_port is None:
            return None
        return PacsDestination(self.pacs_ae_title, self.pacs_host, self.pacs_port)

    @property
    def database_path(self) -> Path:
        return self.spool_dir / "queue.sqlite3"

    @property
    def quarantine_url(self) -> str:
        """Where the gateway reports what it quarantined: PUT {cloud}/api/gateway-quarantine."""
        return f"{self.cloud_url}/api/gateway-quarantine"

    @property
    def stow_url(self) -> str:
        """The STOW-RS Store Instances resource (PS3.18 §10.5): POST {cloud}/dicomweb/studies."""
        return f"{self.cloud_url}/dicomweb/studies"
