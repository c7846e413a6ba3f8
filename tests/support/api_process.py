"""`yilian api` started as a process of its own, on the test session's PostgreSQL and Temporal, with its files under
the test's tmp_path: for tests that watch the process itself (its memory, its children, its signals)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from yilian.config import Settings


def api_env(settings: Settings, tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    """The environment of such an API on `port`: archive under tmp_path/dicom, no auto-referral (as the session's
    settings: nothing it stores is a referral of any test); `extra` is added (e.g. YILIAN_API_PROCESSES)."""
    return {
        **os.environ,
        "YILIAN_DATABASE_URL": settings.database_url or "",
        "YILIAN_TEMPORAL_ADDRESS": settings.temporal_address or "",
        "YILIAN_TASK_QUEUE": settings.task_queue,
        "YILIAN_STORAGE_URL": f"file://{tmp_path / 'dicom'}",
        "YILIAN_VAR_DIR": str(tmp_path / "var"),
        "YILIAN_API_PORT": str(port),
        "YILIAN_AUTO_REFERRAL": "false",
        **extra,
    }


def start_api(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`python -m yilian.cli api` with `env`, its output in `log`."""
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "yilian.cli", "api"], env=env, stdout=out, stderr=out)
