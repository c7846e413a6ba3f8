"""A webhook receiver a hospital can run to check Yilian's signatures (docs/webhooks.md). Standard library only:
copy this one file and run `python3 receiver.py --port 9000 --out deliveries.jsonl` with the webhook's secret in
YILIAN_WEBHOOK_SECRET.

Each delivery is a POST of JSON signed as `X-Yilian-Signature: sha256=<hex HMAC-SHA256 of the raw body>` with
the webhook's secret, and names itself in `X-Yilian-Delivery` (the notice's key, the same on every retry).
The receiver answers 401 to a missing or wrong signature before it parses anything, 413 to a body over 1 MiB,
and 200 without recording again to a delivery key it already holds (a retry, or a captured delivery played
back: the signature carries no time, so the key is what stops a replay); a new, good delivery is appended to
the output file as one JSON line and answered 204.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.server
import json
import os
import sys
import threading
from pathlib import Path

SIGNATURE_HEADER = "X-Yilian-Signature"
DELIVERY_HEADER = "X-Yilian-Delivery"
MAX_BODY = 1024 * 1024


def signature_ok(secret: bytes, body: bytes, header: str | None) -> bool:
    """Whether `header` is `sha256=` and the HMAC-SHA256 of exactly these bytes (compared in constant time)."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower())


class Deliveries:
    """The deliveries kept so far (one JSON line each), and their keys, so that none is recorded twice."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self._lock = threading.Lock()
        self._keys: set[str] = set()
        if out.exists():
            for line in out.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    self._keys.add(str(json.loads(line)["key"]))

    def keep(self, key: str, payload: object) -> bool:
        """Record a delivery; False when its key was recorded before."""
        with self._lock:
            if key in self._keys:
                return False
            with self.out.open("a", encoding="utf-8") as f:
                f.write(json.dumps({"key": key, "delivery": payload}, ensure_ascii=False) + "\n")
            self._keys.add(key)
            return True


def make_server(host: str, port: int, secret: bytes, deliveries: Deliveries) -> http.server.ThreadingHTTPServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                return self._answer(413, "body too large")
            body = self.rfile.read(length)
            if not signature_ok(secret, body, self.headers.get(SIGNATURE_HEADER)):
                return self._answer(401, "bad signature")
            try:
                payload = json.loads(body)
            except ValueError:
                return self._answer(400, "not JSON")
            key = self.headers.get(DELIVERY_HEADER) or ""
            if not key or not isinstance(payload, dict) or payload.get("key") != key:
                return self._answer(400, "the delivery key is missing or does not match the body")
            if not deliveries.keep(key, payload):
                return self._answer(200, "already received")
            self._answer(204, "")

        def _answer(self, status: int, text: str) -> None:
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if data:
                self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    return http.server.ThreadingHTTPServer((host, port), Handler)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Receive and verify Yilian webhook deliveries.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--out", type=Path, default=Path("deliveries.jsonl"))
    parser.add_argument("--secret-env", default="YILIAN_WEBHOOK_SECRET", help="the variable holding the secret")
    args = parser.parse_args(argv)
    secret = os.environ.get(args.secret_env, "")
    if not secret:
        parser.error(f"{args.secret_env} is empty: set it to the webhook's secret")
    server = make_server(args.host, args.port, secret.encode(), Deliveries(args.out))
    print(f"receiving on {args.host}:{server.server_address[1]}, writing to {args.out}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
