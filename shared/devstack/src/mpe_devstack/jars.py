"""Apache Kafka's jars from Maven Central (deploy/kafka/pom.xml), fetched once into a cache,
and the Java that runs them."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

KAFKA_VERSION = "4.1.1"

_POM = Path("deploy/kafka/pom.xml")
_MARKER = ".complete"


def repo_root() -> Path:
    """Return the repository root: the nearest ancestor holding deploy/kafka/pom.xml."""
    starts = [Path(__file__).resolve().parent, Path.cwd().resolve()]
    for start in starts:
        for directory in [start, *start.parents]:
            if (directory / _POM).is_file():
                return directory
    raise RuntimeError(f"cannot find {_POM} above {starts[0]} or the current directory")


def kafka_cache_dir() -> Path:
    """Return the directory whose libs/ holds the broker jars ($MPE_KAFKA_CACHE overrides)."""
    override = os.environ.get("MPE_KAFKA_CACHE")
    if override:
        return Path(override).expanduser().absolute()
    return Path.home() / ".cache" / "mpehub" / f"kafka-{KAFKA_VERSION}"


def _jars_complete(libs: Path, digest: str) -> bool:
    marker = libs / _MARKER
    try:
        return marker.read_text().strip() == digest and any(libs.glob("kafka_2.13-*.jar"))
    except OSError:
        return False


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_kafka_jars(*, log: Callable[[str], None] = print) -> Path:
    """Fetch the broker's jars with Maven into the cache unless already there; return libs/."""
    pom = repo_root() / _POM
    # The marker holds the pom's hash, so editing the pom (versions, artifacts) re-fetches.
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    cache = kafka_cache_dir()
    libs = cache / "libs"
    if _jars_complete(libs, digest):
        return libs
    # Two test sessions starting at once must not both write the same directory.
    with _file_lock(cache / ".lock"):
        if _jars_complete(libs, digest):
            return libs
        mvn = shutil.which("mvn")
        if mvn is None:
            raise RuntimeError("Maven is needed to fetch Kafka: `apt-get install -y maven`")
        log(f"Fetching Kafka {KAFKA_VERSION} jars into {libs} with Maven ...")
        staging = cache / f"libs.partial-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        result = subprocess.run(
            [
                mvn,
                "-q",
                "-B",
                "-f",
                str(pom),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={staging}",
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0 or not any(staging.glob("kafka_2.13-*.jar")):
            shutil.rmtree(staging, ignore_errors=True)
            raise RuntimeError(
                f"mvn could not fetch the Kafka jars (exit {result.returncode}):\n"
                f"{result.stdout}{result.stderr}"
            )
        (staging / _MARKER).write_text(digest + "\n")
        # Replace wholesale: jars left over from an older pom would shadow the new ones.
        shutil.rmtree(libs, ignore_errors=True)
        staging.rename(libs)
        log(f"Kafka jars ready in {libs}")
    return libs


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise RuntimeError("Kafka 4 needs Java 17+: `apt-get install -y openjdk-17-jre-headless`")
    return java
