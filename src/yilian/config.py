"""One settings object for every process, read from YILIAN_* environment variables."""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?")

DEV_JWT_SECRET = "dev-only-secret-change-me-0123456789abcdef"
DEV_WEBHOOK_SECRET = "dev-only-webhook-secret"
DEV_SHARE_LINK_SECRET = "dev-only-share-link-secret"
# `yilian up` replaces it with a generated one for the API and the live process it starts (docs/live.md).
DEV_LIVE_SECRET = "dev-only-live-secret-0123456789abcdef"
DEV_DEID_SECRET = "dev-only-deid-secret-0123456789abcdef"
DEV_PATIENT_INDEX_SECRET = "dev-only-patient-index-secret-0123456789"

# Outside development every secret must be long and unpredictable: a JWT or share-link key signs what anyone may
# present and is guessable offline when short; the de-identification key is all that stands between a published
# pseudonym and the patient. `secrets.token_urlsafe(48)` gives 64 characters and about 380 bits.
MIN_SECRET_LENGTH = 32
MIN_SECRET_BITS = 96


def estimated_bits(value: str) -> float:
    """The secret's length times the Shannon entropy of its characters: low for repeats and small alphabets."""
    counts = Counter(value)
    return -sum(n * math.log2(n / len(value)) for n in counts.values())


def weak_secret(value: str) -> str | None:
    """Why `value` is too weak for a secret outside development, or None."""
    if len(value) < MIN_SECRET_LENGTH:
        return f"{len(value)} characters, need at least {MIN_SECRET_LENGTH}"
    if value in (value + value)[1:-1] or estimated_bits(value) < MIN_SECRET_BITS:
        return "too predictable (a repeated pattern or too few different characters)"
    return None


class Settings(BaseSettings):
    """Built once at start-up and passed down; no module-level mutable config."""

    model_config = SettingsConfigDict(env_prefix="YILIAN_", extra="ignore")

    environment: str = "development"
    var_dir: Path = Path("var")
    # None means "start the embedded one" (yilian up, tests).
    database_url: str | None = None
    temporal_address: str | None = None
    temporal_namespace: str = "default"
    task_queue: str = "yilian-referrals"
    # Empty: the archive lives under var_dir (var_dir/dicom), so two instances with their own var_dir never share it.
    storage_url: str = ""
    # For s3://bucket/prefix (docs/storage.md): each one unset falls back to the standard AWS_* variable
    # (AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or the instance's role on AWS.
    s3_endpoint: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    # Fixity: instances re-hashed each day by the worker's schedule, least recently checked first (0: no schedule).
    fixity_sample_size: int = Field(default=1000, ge=0)
    # Report search: an existing OpenSearch cluster (http(s)://[user:password@]host:port). None: `yilian up` starts
    # the embedded node under var/opensearch; `yilian api`/`worker` then run without search.
    opensearch_url: str | None = None
    # The alias readers and writers use; the concrete index behind it changes with each reindex.
    search_alias: str = "yilian-reports"
    # The built web app and OHIF viewer; None means web/dist and viewer/build in the source checkout.
    web_dir: Path | None = None
    viewer_dir: Path | None = None

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # `yilian api` serves api_host:api_port from this many processes sharing one listening socket (docs/deploy.md):
    # one Python process uses about one core, so one per core the API may take. Each has its own database pool.
    api_processes: int = Field(default=1, ge=1, le=64)
    public_base_url: str = "http://127.0.0.1:8000"
    # Origins (scheme://host[:port]) whose pages may call the API and DICOMweb from a browser, e.g. an OHIF viewer
    # served elsewhere: YILIAN_CORS_ORIGINS='["https://viewer.example.org"]'. Empty: same origin only
    # (docs/dicomweb.md).
    cors_origins: list[str] = Field(default_factory=list)

    jwt_secret: str = DEV_JWT_SECRET
    jwt_ttl_minutes: int = 30
    webhook_secret: str = DEV_WEBHOOK_SECRET
    share_link_secret: str = DEV_SHARE_LINK_SECRET
    # How long a patient's share link lasts: the one made when the report returns, and a new one made without `days`.
    share_link_days: int = Field(default=30, ge=1, le=365)
    # Auto-referral under a hosting agreement (docs/reading-service.md): off, the archive starts no referral by itself;
    # on, each arrived study is referred once nothing more of it has arrived for `auto_referral_quiet_seconds`.
    auto_referral: bool = True
    auto_referral_quiet_seconds: int = Field(default=120, ge=1, le=24 * 3600)
    # The sweep for studies whose signal was lost (Temporal down when they were stored): a Temporal schedule every
    # `auto_referral_sweep_minutes` (0: none) over the studies of the last `auto_referral_sweep_hours`.
    auto_referral_sweep_minutes: int = Field(default=15, ge=0, le=24 * 60)
    auto_referral_sweep_hours: int = Field(default=72, ge=1, le=24 * 90)
    # DICOMweb frame and rendered GETs (api/dicomweb/retrieve_door.py) and STOW-RS POSTs (stow_door.py) answered
    # before routing, with the routes' own checks and answers; off, the routes answer them (the same bytes, about
    # 1 ms more of the API's CPU each).
    dicomweb_door: bool = True
    # Keys teaching-case pseudonyms, date shifts and new UIDs (deid/pseudonym.py). Changing it breaks the link
    # between a patient's earlier and later teaching cases, so set it once per alliance and keep it.
    deid_secret: str = DEV_DEID_SECRET
    # Keys the regional patient index's national ID hashes and patients' one-time sign-in codes (docs/cloud-film.md).
    # Changing it unmatches every national ID already indexed: set it once per region and keep it.
    patient_index_secret: str = DEV_PATIENT_INDEX_SECRET
    # Patients' one-time codes go by SMS: "local" records each message in the sms_outbox table (development, tests:
    # GET /api/dev/sms-outbox reads it); "http" posts it to sms_http_url with sms_http_token (notify/sms.py).
    sms_provider: str = Field(default="local", pattern="^(local|http)$")
    sms_http_url: str = ""
    sms_http_token: str = ""
    # How long a patient's phone session and a clinician's QR last (the patient picks a QR's life up to the most).
    patient_session_minutes: int = Field(default=30, ge=5, le=720)
    film_grant_max_hours: int = Field(default=72, ge=1, le=720)
    # Headless Chromium prints report PDFs (documents/report_pdf.py); Debian's chromium package by default.
    chromium: str = "/usr/bin/chromium"

    # An open MDT consult nobody concluded is closed this long past its scheduled end (docs/consults.md); a consult
    # keeps the value it was made with.
    consult_auto_close_minutes: int = Field(default=120, ge=5, le=7 * 24 * 60)

    # Live consults (docs/live.md). The API reaches the live processes at `live_urls` (one per core in
    # production; empty: the one `yilian up` starts at live_host:live_port) and signs joins with `live_secret`.
    live_urls: list[str] = Field(default_factory=list)
    live_secret: str = DEV_LIVE_SECRET
    live_host: str = "127.0.0.1"
    live_port: int = 8100
    # ICE: host candidates only by default, so an air-gapped hospital never tries a public STUN server.
    # Add your own STUN and a coturn on 443/TLS (turns:host:443?transport=tcp) for hospital firewalls;
    # with live_turn_secret set, each join gets coturn REST-API credentials (use-auth-secret).
    live_stun_urls: list[str] = Field(default_factory=list)
    live_turn_urls: list[str] = Field(default_factory=list)
    live_turn_secret: str | None = None
    live_room_capacity: int = Field(default=10, ge=2, le=50)
    # What publishers are asked to stay under (REMB): one bitrate for all, as aiortc has no simulcast.
    live_max_video_bitrate: int = Field(default=600_000, ge=100_000, le=2_500_000)
    # Recordings are written under this root (None: var_dir/recordings); the API names a directory inside it.
    live_recordings_dir: Path | None = None
    # Lectures (docs/lectures.md): the live process packages each lecture as HLS under
    # lecture_media_root()/<lecture_id>/ (live.m3u8, segments, then replay.m3u8); the API serves them from there.
    lecture_media_dir: Path | None = None

    # Prometheus /metrics (docs/ops.md): a listener of its own beside the API and in the worker, off unless a port
    # is set (each process on a host needs its own). Loopback unless metrics_token guards it: refused otherwise.
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    metrics_token: str | None = None
    # How often the worker recounts open referrals by SLA state and asks Temporal for its queue's backlog.
    metrics_refresh_seconds: float = Field(default=15.0, gt=0)

    def live_process_urls(self) -> list[str]:
        """Where the API finds the live processes: the configured ones, or the one `yilian up` starts."""
        return self.live_urls or [f"http://{self.live_host}:{self.live_port}"]

    def recordings_root(self) -> Path:
        return self.live_recordings_dir or self.var_dir / "recordings"

    def lecture_media_root(self) -> Path:
        return self.lecture_media_dir or self.var_dir / "lectures"

    def secrets(self) -> dict[str, tuple[str, str]]:
        """Each secret's variable name -> (value, development default)."""
        return {
            "YILIAN_JWT_SECRET": (self.jwt_secret, DEV_JWT_SECRET),
            "YILIAN_WEBHOOK_SECRET": (self.webhook_secret, DEV_WEBHOOK_SECRET),
            "YILIAN_SHARE_LINK_SECRET": (self.share_link_secret, DEV_SHARE_LINK_SECRET),
            "YILIAN_LIVE_SECRET": (self.live_secret, DEV_LIVE_SECRET),
            "YILIAN_DEID_SECRET": (self.deid_secret, DEV_DEID_SECRET),
            "YILIAN_PATIENT_INDEX_SECRET": (self.patient_index_secret, DEV_PATIENT_INDEX_SECRET),
        }

    def weak_secrets(self) -> dict[str, str]:
        """Each set secret that is too weak outside development -> why (defaults are reported apart)."""
        named = {name: value for name, (value, default) in self.secrets().items() if value != default}
        if self.live_turn_secret is not None:
            named["YILIAN_LIVE_TURN_SECRET"] = self.live_turn_secret
        return {name: why for name, value in named.items() if (why := weak_secret(value)) is not None}

    def default_secrets(self) -> list[str]:
        """The secrets still at their development default."""
        return [name for name, (value, default) in self.secrets().items() if value == default]

    @model_validator(mode="after")
    def _origins_are_exact(self) -> Settings:
        """An allow-list, not a wildcard: each entry one exact origin, as a browser sends it in `Origin`."""
        for origin in self.cors_origins:
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(f"cors_origins: {origin!r} is not an origin like https://viewer.example.org[:port]")
        return self

    @model_validator(mode="after")
    def _refuse_default_secrets_outside_development(self) -> Settings:
        if not self.storage_url:
            self.storage_url = f"file://{self.var_dir / 'dicom'}"
        if self.environment != "development":
            unset = self.default_secrets()
            if unset:
                raise ValueError(f"{', '.join(unset)} must be set outside development")
            weak = self.weak_secrets()
            if weak:
                raise ValueError("weak secrets: " + "; ".join(f"{name}: {why}" for name, why in weak.items()))
        return self
