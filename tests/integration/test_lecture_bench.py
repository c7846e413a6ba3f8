"""bench/lecture.py at its tiny size, so it cannot rot: the three packaging rooms measured, viewers served segments
through the API's token-checked route."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_lecture_bench_runs_tiny(tmp_path: Path) -> None:
    out = tmp_path / "lecture.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "lecture.py"), "--tiny", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    result = json.loads(out.read_text())
    assert set(result["packaging"]) == {"off (H.264 in, nothing written)", "transcode (VP8 in)", "remux (H.264 in)"}
    assert all(row["live"] > 0 for row in result["packaging"].values()), result["packaging"]
    assert set(result["route_ms"]) == {"segment", "playlist", "health"}
    (viewers,) = result["viewers"]
    # Timing on a crowded host is the bench's business; here every viewer got segments, none was refused.
    assert viewers["viewers"] == 5 and viewers["errors"] == 0 and viewers["starved"] == 0, viewers
    assert viewers["segments"] >= 5 and viewers["segment_ms_p95"] is not None, viewers
    assert result["segments_on_disk"] >= 3
    assert "## Lectures: 500 HLS viewers and the packaging cost (issue 12)" in done.stdout
