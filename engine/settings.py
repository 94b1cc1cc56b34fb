"""All configuration, read once from ``MRI_*`` environment variables into one frozen object.

No other module reads ``os.environ``: they take a :class:`Settings` (usually
from :func:`get_settings`). Every value is validated here, and a bad one raises
:class:`~engine.errors.ConfigError` naming the variable.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import os
import posixpath
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

from engine.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
PREFIX = "MRI_"


@dataclasses.dataclass(frozen=True)
class Settings:
    """Where things live and how the services are reached."""

    run_dir: Path  # jobs, model cache, audit log, uploads (the user's state; tests use their own)
    hdfs_dir: Path  # the managed HDFS daemons' data, config, logs and pid files (default: <run_dir>/hdfs)
    hdfs_root: str  # HDFS folder everything of this project lives under: datasets, models, benchmarks
    namenode_http: str  # NameNode web address (WebHDFS, /jmx, /fsck), e.g. http://127.0.0.1:9870
    namenode_rpc: str  # NameNode RPC address Spark uses, e.g. hdfs://127.0.0.1:9000
    hdfs_user: str  # user name sent to WebHDFS (simple auth)
    hdfs_managed: bool  # start and stop a local HDFS (False: use an existing cluster)
    datanodes: int  # number of local DataNodes
    replication: int  # replicas per block
    block_size: int  # bytes per HDFS block
    datanode_base_port: int  # DataNode i uses base+10*i (+0 data, +1 http, +2 ipc)
    racks: tuple[tuple[str, int], ...]  # (rack, DataNodes on it) in DataNode order, e.g. (("/rack-a", 2), ("/rack-b", 1))
    hdfs_heap_mb: int  # Java heap per local HDFS daemon, MiB
    hdfs_timeout_s: float  # seconds to wait for one WebHDFS call
    hdfs_start_timeout_s: float  # seconds to wait for the local cluster to become ready
    spark_master: str  # local[*], local[K], spark://host:port, yarn, k8s://...
    bind_host: str  # address local services listen on (loopback unless allow_remote_access)
    allow_remote_access: bool  # the user accepted serving unauthenticated services beyond this machine
    dashboard_port: int  # Streamlit port
    param_server_port: int  # Elephas parameter server port (0: pick a free one)
    hadoop_home: Path | None  # use this Hadoop install's jars instead of the Maven cache
    python: Path  # interpreter Spark workers and jobs use (the venv's)

    # --- derived paths -------------------------------------------------
    @property
    def jobs_dir(self) -> Path:
        return self.run_dir / "jobs"

    @property
    def hadoop_lib(self) -> Path:
        """Folder of Hadoop jars fetched by Maven (see hadoop/pom.xml)."""
        return REPO_ROOT / ".cache" / "hadoop" / "lib"

    @property
    def namenode_http_port(self) -> int:
        return urlparse(self.namenode_http).port or 9870

    @property
    def namenode_rpc_port(self) -> int:
        return urlparse(self.namenode_rpc).port or 8020

    def hdfs_path(self, *parts: str) -> str:
        """An HDFS path under the project's root, e.g. ``hdfs_path("datasets", name)``."""
        return posixpath.join(self.hdfs_root, *parts)

    def as_dict(self) -> dict:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(self).items()}


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(PREFIX + name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{PREFIX}{name}={raw!r} is not a whole number; set it to an integer between {lo} and {hi}.") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{PREFIX}{name}={value} is out of range; use a value between {lo} and {hi}.")
    return value


def _float(env: Mapping[str, str], name: str, default: float, lo: float, hi: float) -> float:
    raw = env.get(PREFIX + name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        raise ConfigError(f"{PREFIX}{name}={raw!r} is not a number; set it to seconds between {lo} and {hi}.") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{PREFIX}{name}={value} is out of range; use a value between {lo} and {hi}.")
    return value


def _url(env: Mapping[str, str], name: str, default: str, schemes: tuple[str, ...]) -> str:
    raw = (env.get(PREFIX + name) or default).strip().rstrip("/")
    parsed = urlparse(raw)
    try:
        port = parsed.port
    except ValueError:
        port = -1
    if parsed.scheme not in schemes or not parsed.hostname or port == -1:
        example = f"{schemes[0]}://127.0.0.1:{urlparse(default).port}"
        raise ConfigError(f"{PREFIX}{name}={raw!r} is not a valid address; write it like {example!r}.")
    return raw


def _bool(env: Mapping[str, str], name: str, default: bool | None) -> bool | None:
    raw = env.get(PREFIX + name)
    if raw is None or raw.strip() in ("", "auto"):
        return default
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{PREFIX}{name}={raw!r} is not understood; use yes, no or auto.")


def is_loopback(host: str) -> bool:
    """True when ``host`` names this machine's loopback interface."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _spark_master(env: Mapping[str, str]) -> str:
    raw = (env.get(PREFIX + "SPARK_MASTER") or "local[*]").strip()
    ok = (
        raw == "local"
        or raw == "yarn"
        or (raw.startswith("local[") and raw.endswith("]") and (raw[6:-1] == "*" or raw[6:-1].isdigit()))
        or raw.startswith(("spark://", "k8s://", "local-cluster["))
    )
    if not ok:
        raise ConfigError(f"{PREFIX}SPARK_MASTER={raw!r} is not a Spark master URL; use local[*], local[2], spark://host:7077, yarn or k8s://...")
    return raw


HDFS_ROOT_PATTERN = re.compile(r"^(/[A-Za-z0-9_.-]+)+$")


def _hdfs_root(env: Mapping[str, str]) -> str:
    raw = (env.get(PREFIX + "HDFS_ROOT") or "/mri").strip().rstrip("/")
    if not HDFS_ROOT_PATTERN.match(raw) or any(p in (".", "..") for p in raw.split("/")):
        raise ConfigError(
            f"{PREFIX}HDFS_ROOT={raw!r} is not an absolute HDFS folder; use something like /mri (letters, digits, '-', '_' and '.', not '/' itself)."
        )
    return raw


def _bind_host(env: Mapping[str, str], allow_remote: bool) -> str:
    bind_host = (env.get(PREFIX + "BIND_HOST") or "127.0.0.1").strip()
    try:
        ipaddress.ip_address(bind_host)
    except ValueError:
        raise ConfigError(f"{PREFIX}BIND_HOST={bind_host!r} is not an IP address; use 127.0.0.1 to stay on this machine.") from None
    if not is_loopback(bind_host) and not allow_remote:
        # The dashboard, WebHDFS (simple auth), the Spark UI and Elephas' parameter server have no login.
        raise ConfigError(
            f"{PREFIX}BIND_HOST={bind_host} would serve the dashboard, HDFS, the Spark UI and the parameter "
            f"server to the network without authentication; keep 127.0.0.1, or also set "
            f"{PREFIX}ALLOW_REMOTE_ACCESS=1 if that network is trusted."
        )
    return bind_host


RACK_NAME = re.compile(r"^(/[A-Za-z0-9_.-]+)+$")


def _racks(env: Mapping[str, str], datanodes: int) -> tuple[tuple[str, int], ...]:
    """``MRI_RACKS``: "/rack-a:2,/rack-b:1" puts DataNodes 1-2 on /rack-a and 3 on /rack-b; the counts must add
    up to ``MRI_DATANODES``. Default: a third of them (at least one) on /rack-b, the rest on /rack-a."""
    raw = (env.get(PREFIX + "RACKS") or "").strip()
    if not raw:
        other = max(1, datanodes // 3) if datanodes > 1 else 0
        return tuple((rack, n) for rack, n in (("/rack-a", datanodes - other), ("/rack-b", other)) if n)
    racks = []
    for part in raw.split(","):
        name, _, count = part.strip().rpartition(":")
        if not RACK_NAME.match(name) or not count.isdigit() or int(count) < 1:
            raise ConfigError(f"{PREFIX}RACKS={raw!r}: {part.strip()!r} must look like /rack-a:2 (a rack path, a colon, a count of at least 1).")
        racks.append((name, int(count)))
    if len({name for name, _ in racks}) != len(racks):
        raise ConfigError(f"{PREFIX}RACKS={raw!r} names a rack twice; give each rack once with its count.")
    if sum(n for _, n in racks) != datanodes:
        raise ConfigError(f"{PREFIX}RACKS={raw!r} places {sum(n for _, n in racks)} DataNodes but {PREFIX}DATANODES={datanodes}; make them agree.")
    return tuple(racks)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``env`` (default: the process environment).

    Raises:
        ConfigError: a variable has a malformed or out-of-range value.
    """
    env = os.environ if env is None else env
    run_dir = Path(env.get(PREFIX + "RUN_DIR") or REPO_ROOT / ".run").expanduser().resolve()
    namenode_http = _url(env, "NAMENODE_HTTP", "http://127.0.0.1:9870", ("http", "https"))
    namenode_rpc = _url(env, "NAMENODE_RPC", "hdfs://127.0.0.1:9000", ("hdfs",))
    managed = _bool(env, "HDFS_MANAGED", None)
    if managed is None:
        managed = is_loopback(urlparse(namenode_http).hostname or "")
    allow_remote = bool(_bool(env, "ALLOW_REMOTE_ACCESS", False))
    bind_host = _bind_host(env, allow_remote)
    hdfs_dir = Path(env.get(PREFIX + "HDFS_DIR") or run_dir / "hdfs").expanduser().resolve()
    user = (env.get(PREFIX + "HDFS_USER") or "mri").strip()
    if not user or any(c in user for c in " /:"):
        raise ConfigError(f"{PREFIX}HDFS_USER={user!r} is not a valid user name; use letters, digits, '-' or '_'.")
    hadoop_home_raw = env.get("HADOOP_HOME") or env.get(PREFIX + "HADOOP_HOME")
    hadoop_home = Path(hadoop_home_raw).expanduser() if hadoop_home_raw else None
    if hadoop_home is not None and not (hadoop_home / "share" / "hadoop").is_dir():
        raise ConfigError(f"HADOOP_HOME={str(hadoop_home)!r} holds no share/hadoop folder; unset it to use the jars run.sh fetches.")
    datanodes = _int(env, "DATANODES", 3, 1, 9)
    replication = _int(env, "REPLICATION", 2, 1, 9)
    if managed and replication > datanodes:
        raise ConfigError(f"{PREFIX}REPLICATION={replication} exceeds {PREFIX}DATANODES={datanodes}; blocks could never be fully replicated.")
    racks = _racks(env, datanodes)
    block_size = _int(env, "BLOCK_SIZE", 1024 * 1024, 64 * 1024, 1024**3)
    if block_size % 512:
        raise ConfigError(f"{PREFIX}BLOCK_SIZE={block_size} must be a multiple of 512 bytes (HDFS checksums 512-byte chunks).")
    return Settings(
        run_dir=run_dir,
        hdfs_dir=hdfs_dir,
        hdfs_root=_hdfs_root(env),
        namenode_http=namenode_http,
        namenode_rpc=namenode_rpc,
        hdfs_user=user,
        hdfs_managed=managed,
        datanodes=datanodes,
        replication=replication,
        block_size=block_size,
        datanode_base_port=_int(env, "DATANODE_BASE_PORT", 9900, 1024, 65000),
        racks=racks,
        hdfs_heap_mb=_int(env, "HDFS_HEAP_MB", 256, 64, 8192),
        hdfs_timeout_s=_float(env, "HDFS_TIMEOUT", 30.0, 1.0, 600.0),
        hdfs_start_timeout_s=_float(env, "HDFS_START_TIMEOUT", 120.0, 5.0, 1800.0),
        spark_master=_spark_master(env),
        bind_host=bind_host,
        allow_remote_access=allow_remote,
        dashboard_port=_int(env, "DASHBOARD_PORT", 8501, 1, 65535),
        param_server_port=_int(env, "PARAM_SERVER_PORT", 0, 0, 65535),
        hadoop_home=hadoop_home,
        python=Path(sys.executable),
    )


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, loaded on first use."""
    return load_settings()
