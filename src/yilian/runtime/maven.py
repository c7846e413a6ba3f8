"""Java servers the runtime embeds (OpenSearch, s3proxy) come as jars from Maven Central, fetched once.

`mvn dependency:copy-dependencies` on a one-dependency pom writes the artifact and its runtime closure into
~/.cache/yilian/<name>/lib, shared by every checkout and test session. A lock keeps concurrent callers from
fetching twice; a marker file says the copy finished, so a killed fetch is redone.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_log = logging.getLogger(__name__)

_JARS_DONE = ".complete"


class JarFetchError(RuntimeError):
    """Maven is missing or could not fetch the artifact."""


@dataclass(frozen=True)
class Artifact:
    group: str
    artifact: str
    version: str
    boms: tuple[tuple[str, str, str], ...] = ()  # (group, artifact, version) imported in dependencyManagement
    hint: str = ""  # what to do instead when Maven is missing

    @property
    def coordinates(self) -> str:
        return f"{self.group}:{self.artifact}:{self.version}"

    def pom(self) -> str:
        managed = "".join(
            f"<dependency><groupId>{g}</groupId><artifactId>{a}</artifactId><version>{v}</version>"
            "<type>pom</type><scope>import</scope></dependency>"
            for g, a, v in self.boms
        )
        management = f"<dependencyManagement><dependencies>{managed}</dependencies></dependencyManagement>"
        return (
            '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
            f"<groupId>yilian</groupId><artifactId>{self.artifact}-jars</artifactId><version>1</version>"
            + (management if managed else "")
            + f"<dependencies><dependency><groupId>{self.group}</groupId><artifactId>{self.artifact}</artifactId>"
            f"<version>{self.version}</version></dependency></dependencies></project>\n"
        )


def cache_root() -> Path:
    return Path.home() / ".cache" / "yilian"


def fetch_jars(artifact: Artifact, directory: Path, *, timeout: float = 900.0) -> Path:
    """The directory holding `artifact`'s jars and their dependencies, fetched with Maven the first time."""
    root = directory.expanduser().absolute()
    lib = root / "lib"
    if (root / _JARS_DONE).exists():
        return lib
    root.mkdir(parents=True, exist_ok=True)
    with file_lock(root / ".lock"):
        if (root / _JARS_DONE).exists():
            return lib
        mvn = shutil.which("mvn")
        if mvn is None:
            raise JarFetchError(
                f"Maven (`mvn`) is needed once to fetch {artifact.coordinates}: install it (apt-get install maven)"
                + (f" or {artifact.hint}" if artifact.hint else "")
                + "."
            )
        (root / "pom.xml").write_text(artifact.pom())
        shutil.rmtree(lib, ignore_errors=True)
        _log.info("fetching %s with Maven into %s (once)", artifact.coordinates, lib)
        args = [mvn, "-q", "-B", "dependency:copy-dependencies", f"-DoutputDirectory={lib}", "-DincludeScope=runtime"]
        try:
            done = subprocess.run(args, cwd=root, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise JarFetchError(f"Maven did not fetch {artifact.coordinates} within {timeout:.0f} s") from exc
        if done.returncode != 0 or not any(lib.glob(f"{artifact.artifact}-*.jar")):
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
            raise JarFetchError(f"Maven could not fetch {artifact.coordinates} (exit {done.returncode}):\n{tail}")
        (root / _JARS_DONE).write_text(f"{len(list(lib.glob('*.jar')))} jars\n")
    return lib


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock across processes (released when the holder exits, even by SIGKILL)."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def log_text(log_file: Path, offset: int) -> str:
    """What a server wrote to its log since `offset` (the start of this run)."""
    try:
        with open(log_file, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def log_tail(text: str, lines: int = 40) -> str:
    return "Last lines of the server's log:\n" + "\n".join(text.splitlines()[-lines:])
