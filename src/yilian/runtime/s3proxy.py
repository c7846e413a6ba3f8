"""An S3-compatible server on 127.0.0.1 for tests, benchmarks and trying `YILIAN_STORAGE_URL=s3://...` locally.

s3proxy (org.gaul:s3proxy, Apache-2.0) from Maven Central, serving a directory through jclouds' filesystem-nio2
provider, with AWS v2/v4 signatures checked against one identity/credential. Version 4.1.0: it honours
If-None-Match (412) but has no Object Lock or versioning, and refuses a single PUT over 32 MiB (multipart works).
2.6.0 rejects the checksums current AWS SDKs send: do not go back to it. Its Jackson 3 dependencies resolve only
with the jackson-bom imported (else NoClassDefFoundError at start).

    python -m yilian.runtime.s3proxy var/s3   # serves var/s3 until Ctrl-C and prints the settings to use
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import logging
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from yilian.runtime.maven import Artifact, JarFetchError, cache_root, fetch_jars, log_tail, log_text
from yilian.runtime.process import free_port, stop_process
from yilian.runtime.service import StoppableService

_log = logging.getLogger(__name__)

HOST = "127.0.0.1"
VERSION = "4.1.0"
ARTIFACT = Artifact(
    "org.gaul",
    "s3proxy",
    VERSION,
    boms=(("tools.jackson", "jackson-bom", "3.2.2"),),
    hint="point YILIAN_STORAGE_URL at an existing S3-compatible store",
)
MAIN_CLASS = "org.gaul.s3proxy.Main"
DEFAULT_HEAP = "512m"
REGION = "us-east-1"  # s3proxy's default signing region
LOG_FILE_NAME = "s3proxy.log"
_LOGBACK = """<configuration>
  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%d{HH:mm:ss.SSS} %-5level %logger{36} - %msg%n</pattern></encoder>
  </appender>
  <root level="WARN"><appender-ref ref="STDOUT"/></root>
  <logger name="org.gaul.s3proxy" level="INFO"/>
</configuration>
"""


class S3ProxyStartError(RuntimeError):
    """Maven or Java is missing, the jars could not be fetched, or the server did not answer in time."""


def jars(directory: Path | None = None, *, timeout: float = 900.0) -> Path:
    try:
        return fetch_jars(ARTIFACT, directory or cache_root() / f"s3proxy-{VERSION}", timeout=timeout)
    except JarFetchError as exc:
        raise S3ProxyStartError(str(exc)) from exc


class S3ProxyServer(StoppableService):
    """A running s3proxy: its endpoint, the one identity it accepts, and the directory it serves."""

    def __init__(
        self, data_dir: Path, port: int, identity: str, credential: str, process: subprocess.Popen[bytes]
    ) -> None:
        self.data_dir = data_dir
        self.port = port
        self.identity = identity
        self.credential = credential
        self._process = process

    def __repr__(self) -> str:
        return f"S3ProxyServer(endpoint={self.endpoint!r}, pid={self.pid})"

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def blob_root(self) -> Path:
        """Where the filesystem provider keeps the buckets: one directory each, objects as files under them."""
        return self.data_dir / "blobs"

    @property
    def log_file(self) -> Path:
        return self.data_dir / LOG_FILE_NAME

    def create_bucket(self, name: str) -> None:
        """PUT /bucket, signed with AWS signature v2 (which s3proxy accepts beside v4): the store itself has no
        create-bucket call, a real deployment's bucket comes from infra/terraform. An existing bucket is fine."""
        date = email.utils.formatdate(usegmt=True)
        signature = hmac.new(self.credential.encode(), f"PUT\n\n\n{date}\n/{name}".encode(), hashlib.sha1)
        request = urllib.request.Request(
            f"{self.endpoint}/{name}",
            method="PUT",
            headers={
                "Date": date,
                "Authorization": f"AWS {self.identity}:{base64.b64encode(signature.digest()).decode()}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30):
                return
        except urllib.error.HTTPError as exc:
            body = exc.read().decode(errors="replace")
            if exc.code == 409 and "BucketAlreadyOwnedByYou" in body:
                return
            raise S3ProxyStartError(f"s3proxy refused to create bucket {name!r}: HTTP {exc.code} {body}") from exc

    def environment(self, bucket: str, prefix: str = "") -> dict[str, str]:
        """The settings that point Yilian at this server (docs/storage.md)."""
        return {
            "YILIAN_STORAGE_URL": f"s3://{bucket}/{prefix}".rstrip("/"),
            "YILIAN_S3_ENDPOINT": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.identity,
            "AWS_SECRET_ACCESS_KEY": self.credential,
            "AWS_REGION": REGION,
        }

    def alive(self) -> bool:
        return self._process.poll() is None

    def kill(self) -> None:
        """SIGKILL, for tests that show what survives a crash."""
        self._process.kill()
        self._process.wait()

    def stop(self, timeout: float = 30.0) -> None:
        stop_process(self._process, self._process.pid, "s3proxy", timeout)


def start_s3proxy(
    data_dir: Path,
    *,
    port: int | None = None,
    identity: str = "yilian",
    credential: str | None = None,
    heap: str = DEFAULT_HEAP,
    timeout: float = 120.0,
    jar_dir: Path | None = None,
) -> S3ProxyServer:
    """Start s3proxy serving `data_dir`/blobs on `port` (a free one if None); returns once it answers HTTP.

    Blocking. Objects survive a stop: a server started again on the same directory (and port) serves them.
    """
    data_dir = data_dir.expanduser().absolute()
    (data_dir / "blobs").mkdir(parents=True, exist_ok=True)
    lib = jars(jar_dir)
    java = shutil.which("java")
    if java is None:
        raise S3ProxyStartError("Java (JDK 17 or newer) is needed to run s3proxy: apt-get install default-jre-headless")
    port = port or free_port()
    credential = credential or secrets.token_hex(16)
    properties = data_dir / "s3proxy.properties"
    properties.write_text(
        f"s3proxy.endpoint=http://{HOST}:{port}\n"
        "s3proxy.authorization=aws-v2-or-v4\n"
        f"s3proxy.identity={identity}\n"
        f"s3proxy.credential={credential}\n"
        "jclouds.provider=filesystem-nio2\n"
        f"jclouds.filesystem.basedir={data_dir / 'blobs'}\n"
    )
    properties.chmod(0o600)
    logback = data_dir / "logback.xml"
    logback.write_text(_LOGBACK)  # without one, logback logs every request at DEBUG
    args = [
        java, f"-Xmx{heap}", f"-Dlogback.configurationFile={logback}",
        "-cp", f"{lib}/*", MAIN_CLASS, "--properties", str(properties),
    ]  # fmt: skip
    log_file = data_dir / LOG_FILE_NAME
    with open(log_file, "ab") as log:
        offset = log.tell()
        log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(args)}\n".encode())
        log.flush()
        started = time.monotonic()
        process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=data_dir,
            start_new_session=True,  # Ctrl-C reaches the caller, which stops the server itself
        )  # fmt: skip
    server = S3ProxyServer(data_dir, port, identity, credential, process)
    try:
        _wait_answering(server, process, offset, timeout)
    except BaseException:
        server.stop()
        raise
    _log.info("s3proxy on %s answering in %.1f s", server.endpoint, time.monotonic() - started)
    return server


def _wait_answering(server: S3ProxyServer, process: subprocess.Popen[bytes], offset: int, timeout: float) -> None:
    """Until an unsigned request gets an S3 answer (403 AccessDenied is one: the server is up and checking)."""
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while True:
        if process.poll() is not None:
            raise S3ProxyStartError(
                f"s3proxy exited with code {process.returncode} before it answered.\n"
                + log_tail(log_text(server.log_file, offset))
            )
        if time.monotonic() > deadline:
            raise S3ProxyStartError(
                f"s3proxy at {server.endpoint} did not answer within {timeout:.0f} s (last: {last}).\n"
                + log_tail(log_text(server.log_file, offset))
            )
        try:
            with urllib.request.urlopen(server.endpoint + "/", timeout=2) as answer:
                last = f"HTTP {answer.status}"
                return
        except urllib.error.HTTPError as exc:
            if exc.code in (400, 403):
                return
            last = f"HTTP {exc.code}"
        except OSError as exc:
            last = f"{type(exc).__name__}: {exc}"
        time.sleep(0.3)


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO)
    data_dir = Path(argv[0] if argv else "var/s3")
    server = start_s3proxy(data_dir, port=int(argv[1]) if len(argv) > 1 else None)
    server.create_bucket("yilian")
    for name, value in server.environment("yilian", "dicom").items():
        print(f"export {name}={value}")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # `kill` stops the JVM too, like Ctrl-C
    try:
        server._process.wait()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
