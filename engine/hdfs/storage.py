"""HDFS access through WebHDFS (HdfsCLI), plus the one op HdfsCLI lacks: block locations.

Every call has a timeout and every failure becomes a :class:`StorageError`
whose message names the path and the way out.
"""

from __future__ import annotations

import contextlib
import json
import logging
import posixpath
from collections.abc import Callable, Iterator
from urllib.parse import quote, urlsplit

import requests
from hdfs import HdfsError, InsecureClient

from engine.errors import NotFoundError, StorageError
from engine.hdfs import probes
from engine.hdfs.daemons import datanode_names
from engine.settings import Settings

logger = logging.getLogger(__name__)


def _clean(hdfs_path: str) -> str:
    if not hdfs_path.startswith("/"):
        hdfs_path = "/" + hdfs_path
    return posixpath.normpath(hdfs_path) if hdfs_path != "/" else "/"


def _remote_error(resp: requests.Response) -> HdfsError:
    """A WebHDFS error response as HdfsCLI raises it, so :meth:`Storage._errors` words it the same way."""
    try:
        remote = resp.json()["RemoteException"]
    except (ValueError, KeyError):
        return HdfsError(f"HTTP {resp.status_code}: {resp.text[:200]}")
    return HdfsError(remote.get("message", ""), exception=remote.get("exception"))


class Storage:
    """A WebHDFS client bound to the configured NameNode and user."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.client = InsecureClient(settings.namenode_http, user=settings.hdfs_user, timeout=settings.hdfs_timeout_s)
        self._dn_names = datanode_names(settings) if settings.hdfs_managed else {}
        self.failovers = 0  # reads retried on another replica after a DataNode dropped the connection

    @contextlib.contextmanager
    def _errors(self, action: str, hdfs_path: str) -> Iterator[None]:
        try:
            yield
        except HdfsError as err:
            if err.exception == "FileNotFoundException" or "does not exist" in str(err):
                raise NotFoundError(f"{hdfs_path!r} does not exist in HDFS.") from err
            first = str(err).splitlines()[0]
            if err.exception in ("DSQuotaExceededException", "NSQuotaExceededException"):
                raise StorageError(
                    f"HDFS has no room to {action} {hdfs_path!r}: {first}. Free space (delete an old dataset "
                    "or model) or raise the folder's quota, then try again."
                ) from err
            if "could only be written to 0" in first:
                raise StorageError(
                    f"No DataNode could take {hdfs_path!r}: their disks are full or they are down "
                    "(the HDFS page shows which). Free disk space or start a DataNode, then try again."
                ) from err
            if err.exception == "AccessControlException":
                raise StorageError(
                    f"HDFS refused permission to {action} {hdfs_path!r} as user {self.settings.hdfs_user!r}: {first}. Use a folder that user may write to."
                ) from err
            raise StorageError(f"Cannot {action} {hdfs_path!r}: {str(err).splitlines()[0]}") from err
        except requests.RequestException as err:
            raise StorageError(
                f"Cannot {action} {hdfs_path!r}: the NameNode at {self.settings.namenode_http} is not answering; is HDFS running? (./run.sh starts it)"
            ) from err

    # ------------------------------------------------------------------ reads
    def status(self, hdfs_path: str, strict: bool = True) -> dict | None:
        """FileStatus of a path (WebHDFS fields), or None when absent and ``strict`` is False."""
        hdfs_path = _clean(hdfs_path)
        with self._errors("read the status of", hdfs_path):
            return self.client.status(hdfs_path, strict=strict)

    def exists(self, hdfs_path: str) -> bool:
        return self.status(hdfs_path, strict=False) is not None

    def parquet_parts(self, folder: str) -> list[dict]:
        """The ``.parquet`` files of a folder Spark or the ingest wrote (its _SUCCESS and other entries left out)."""
        return [e for e in self.list(folder) if e["name"].endswith(".parquet")]

    def list(self, hdfs_path: str) -> list[dict]:
        """Entries of a folder: name, path, type, length, replication, block_size, modified (ms)."""
        hdfs_path = _clean(hdfs_path)
        with self._errors("list", hdfs_path):
            status = self.client.status(hdfs_path)
            if status["type"] == "FILE":
                entries = [(posixpath.basename(hdfs_path), status)]
                parent = posixpath.dirname(hdfs_path)
            else:
                entries = self.client.list(hdfs_path, status=True)
                parent = hdfs_path
        return [
            {
                "name": name,
                "path": posixpath.join(parent, name),
                "type": st["type"].lower(),
                "length": st["length"],
                "replication": st["replication"],
                "block_size": st["blockSize"],
                "modified_ms": st["modificationTime"],
            }
            for name, st in entries
        ]

    def read(self, hdfs_path: str, attempts: int = 3) -> bytes:
        """A file's bytes. A DataNode that refuses or drops the connection is excluded and the NameNode asked
        for another replica, as Hadoop's own WebHDFS client does: right after a DataNode stops, the NameNode
        still counts it live and may keep redirecting to it."""
        hdfs_path = _clean(hdfs_path)
        excluded: list[str] = []
        while True:
            with self._errors("read", hdfs_path):
                location = self._replica_url(hdfs_path, excluded)
                try:
                    resp = requests.get(location, timeout=self.settings.hdfs_timeout_s)
                except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as err:
                    if len(excluded) + 1 >= attempts:
                        raise
                    logger.warning("read of %s failed on a DataNode (%s); asking for another replica", hdfs_path, err)
                    excluded.append(self._transfer_address(location))
                    self.failovers += 1
                    continue
                if resp.status_code != 200:
                    raise _remote_error(resp)
                return resp.content

    def _replica_url(self, hdfs_path: str, excluded: list[str]) -> str:
        """The DataNode URL the NameNode redirects an OPEN to, skipping the ``excluded`` DataNodes."""
        params = {"op": "OPEN", "user.name": self.settings.hdfs_user}
        if excluded:
            params["excludedatanodes"] = ",".join(excluded)
        url = f"{self.settings.namenode_http}/webhdfs/v1{quote(hdfs_path)}"
        resp = requests.get(url, params=params, allow_redirects=False, timeout=self.settings.hdfs_timeout_s)
        if resp.status_code != 307:
            raise _remote_error(resp)
        return resp.headers["Location"]

    def _transfer_address(self, location: str) -> str:
        """A DataNode's data-transfer address (what ``excludedatanodes`` matches) from its web address in a
        redirect. The redirect names the DataNode by its host name; the NameNode keys it by the IP it came from."""
        host, _, port = urlsplit(location).netloc.rpartition(":")
        nodes = json.loads(probes.namenode_jmx(self.settings, "Hadoop:service=NameNode,name=NameNodeInfo")["LiveNodes"])
        for name, node in nodes.items():
            info_ip, _, info_port = node.get("infoAddr", "").rpartition(":")
            if info_port == port and host in (info_ip, name.rpartition(":")[0]):
                return node["xferaddr"]
        return host  # by host alone: right whenever each DataNode has its own address

    def blocks(self, hdfs_path: str) -> dict:
        """A file's blocks from the NameNode: id, offset, length and the DataNodes holding each replica.

        Uses WebHDFS ``GET_BLOCK_LOCATIONS`` (the NameNode's LocatedBlocks, which
        unlike ``GETFILEBLOCKLOCATIONS`` carries block ids).
        """
        hdfs_path = _clean(hdfs_path)
        status = self.status(hdfs_path)
        if status["type"] != "FILE":
            raise StorageError(f"{hdfs_path!r} is a directory; blocks belong to files, so pick a file inside it.")
        url = f"{self.settings.namenode_http}/webhdfs/v1{hdfs_path}"
        params = {"op": "GET_BLOCK_LOCATIONS", "offset": 0, "length": max(status["length"], 1), "user.name": self.settings.hdfs_user}
        with self._errors("read the blocks of", hdfs_path):
            resp = requests.get(url, params=params, timeout=self.settings.hdfs_timeout_s)
            if resp.status_code != 200:
                raise StorageError(f"Cannot read the blocks of {hdfs_path!r}: the NameNode answered {resp.status_code} {resp.text[:200]}")
            located = resp.json()["LocatedBlocks"]
        blocks = []
        for item in located.get("locatedBlocks", []):
            hosts, addresses, racks = [], [], []
            for loc in item.get("locations", []):
                addr = f"{loc.get('hostName') or loc.get('ipAddr')}:{loc.get('xferPort')}"
                hosts.append(self._dn_names.get(addr, addr))
                addresses.append(addr)
                racks.append(loc.get("networkLocation") or "/default-rack")
            blocks.append(
                {
                    "block_id": item["block"]["blockId"],
                    "block_name": f"blk_{item['block']['blockId']}_{item['block']['generationStamp']}",
                    "offset": item["startOffset"],
                    "length": item["block"]["numBytes"],
                    "hosts": hosts,
                    "addresses": addresses,  # each replica's DataNode, host:port as it registered
                    "racks": racks,  # the rack of each replica, in the same order
                    "corrupt": bool(item.get("isCorrupt")),
                }
            )
        return {"path": hdfs_path, "length": status["length"], "block_size": status["blockSize"], "replication": status["replication"], "blocks": blocks}

    # ------------------------------------------------------------------ writes
    def makedirs(self, hdfs_path: str) -> None:
        hdfs_path = _clean(hdfs_path)
        with self._errors("create the folder", hdfs_path):
            self.client.makedirs(hdfs_path)

    def write(self, hdfs_path: str, data: bytes, overwrite: bool = False, on_progress: Callable[[str, int], None] | None = None) -> None:
        """Write ``data`` to a file (the cluster's replication and block size apply)."""
        hdfs_path = _clean(hdfs_path)
        with self._errors("write", hdfs_path):
            self.client.write(hdfs_path, data=data, overwrite=overwrite, blocksize=self.settings.block_size, replication=self.settings.replication)
        if on_progress:
            on_progress(hdfs_path, len(data))

    def delete(self, hdfs_path: str, recursive: bool = False) -> bool:
        """Delete a path; True if it existed."""
        hdfs_path = _clean(hdfs_path)
        if hdfs_path == "/":
            raise StorageError("Refusing to delete the HDFS root '/'.")
        with self._errors("delete", hdfs_path):
            return self.client.delete(hdfs_path, recursive=recursive)

    def rename(self, src: str, dst: str) -> None:
        with self._errors("rename", src):
            self.client.rename(_clean(src), _clean(dst))

    def replace(self, src: str, dst: str) -> None:
        """Rename ``src`` onto ``dst`` in one NameNode operation, replacing ``dst`` if it exists.

        WebHDFS RENAME with ``renameoptions=OVERWRITE`` (the NameNode's rename2): readers see the old file or the
        new one, never neither. HdfsCLI's rename has no such option, so this is one raw WebHDFS call.
        """
        src, dst = _clean(src), _clean(dst)
        url = f"{self.settings.namenode_http}/webhdfs/v1{quote(src)}"
        params = {"op": "RENAME", "destination": dst, "renameoptions": "OVERWRITE", "user.name": self.settings.hdfs_user}
        with self._errors("replace", dst):
            resp = requests.put(url, params=params, timeout=self.settings.hdfs_timeout_s)
            if resp.status_code != 200:
                raise HdfsError(
                    resp.json().get("RemoteException", {}).get("message", resp.text[:200]), exception=resp.json().get("RemoteException", {}).get("exception")
                )

    def create_exclusive(self, hdfs_path: str, data: bytes) -> bool:
        """Create a file only if it does not exist yet (atomic on the NameNode); False if it already existed."""
        hdfs_path = _clean(hdfs_path)
        try:
            with self._errors("create", hdfs_path):
                self.client.write(hdfs_path, data=data, overwrite=False, replication=self.settings.replication)
        except StorageError as err:
            # Two clients creating at once: the loser is told the file exists, or that another client holds its lease.
            if isinstance(err.__cause__, HdfsError) and err.__cause__.exception in (
                "FileAlreadyExistsException",
                "AlreadyBeingCreatedException",
                "RecoveryInProgressException",
            ):
                return False
            raise
        return True


def verify_reads(storage: Storage, expected: dict[str, str]) -> dict:
    """Read each file and compare its SHA-256 with the expected one: proof that data survives a failure.

    Args:
        expected: HDFS path -> SHA-256 hex of its bytes.
    Returns:
        ``{"checked": n, "ok": n, "failed": [{"path", "reason"}], "failovers": reads that switched replica}``;
        never raises for one bad file.
    """
    import hashlib

    ok, failed, failovers = 0, [], storage.failovers
    for path, sha in expected.items():
        try:
            data = storage.read(path)
        except StorageError as err:
            failed.append({"path": path, "reason": str(err)})
            continue
        if hashlib.sha256(data).hexdigest() == sha:
            ok += 1
        else:
            failed.append({"path": path, "reason": "content differs from the manifest's SHA-256"})
    return {"checked": len(expected), "ok": ok, "failed": failed, "failovers": storage.failovers - failovers}
