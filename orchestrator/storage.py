"""Where a run's files live: a local disk, NFS or an object store, behind one pyarrow filesystem."""

from __future__ import annotations

import contextlib
import json
import os
import re
import uuid
from urllib.parse import urlsplit, urlunsplit

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq


class RunStorage:
    """A run folder on a local disk, NFS or an object store (any pyarrow filesystem URI, e.g.
    `s3://bucket/prefix?region=eu-west-1` or `s3://bucket/prefix?endpoint_override=host:9000&scheme=http`)."""

    def __init__(self, uri: str):
        self.uri = uri if "://" in uri else os.path.abspath(uri)
        self.fs, self.root = pafs.FileSystem.from_uri(self.uri)
        self.root = self.root.rstrip("/")
        self.remote = not isinstance(self.fs, pafs.LocalFileSystem)
        self.atomic_rename = not self.remote  # object-store puts are atomic already

    @classmethod
    def child(cls, base: str, name: str) -> RunStorage:
        """The run `name` inside the results folder or URI `base` (query parameters stay at the end)."""
        if "://" not in base:
            return cls(os.path.join(base, name))
        parts = urlsplit(base)
        return cls(urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}/{name}")))

    @property
    def display(self) -> str:
        """The location without credentials or options: safe to print and to record."""
        return redact(self.uri) if self.remote else self.root

    def path(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    def exists(self, *parts: str) -> bool:
        return self.fs.get_file_info(self.path(*parts)).type != pafs.FileType.NotFound

    def _write_atomically(self, write, *parts: str) -> None:
        """`write(path)` into a hidden temporary file, then rename it over the final one (local disks); object
        stores get the final path directly, their puts are atomic already."""
        final = self.path(*parts)
        folder, name = final.rsplit("/", 1)
        self.fs.create_dir(folder, recursive=True)
        if not self.atomic_rename:
            write(final)
            return
        tmp = f"{folder}/.{name}.{uuid.uuid4().hex}.tmp"
        try:
            write(tmp)
            fsync(tmp)  # the data is on disk before the rename makes it the file: a crash leaves old or new
            self.fs.move(tmp, final)
        except BaseException:
            with contextlib.suppress(OSError):
                self.fs.delete_file(tmp)  # no temporary left behind, whatever failed
            raise

    def write_table(self, table: pa.Table, *parts: str) -> None:
        self._write_atomically(lambda path: pq.write_table(table, path, filesystem=self.fs), *parts)

    def read_table(self, *parts: str) -> pa.Table:
        return pq.read_table(self.path(*parts), filesystem=self.fs)

    def write_json(self, data: dict, *parts: str) -> None:
        def write(path: str) -> None:
            with self.fs.open_output_stream(path) as out:
                out.write(json.dumps(data, indent=2).encode())

        self._write_atomically(write, *parts)

    def claim(self, data: dict, *parts: str) -> bool:
        """Create the file with `data` only if it does not exist yet: False when another writer has it.

        Local disks and NFS: an exclusive create (O_EXCL), so of two drivers starting the same run one wins.
        Object stores have no exclusive put here: a check, then a put (a race of the two in the same second
        remains possible there)."""
        if self.remote:
            if self.exists(*parts):
                return False
            self.write_json(data, *parts)
            return True
        path = self.path(*parts)
        self.fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as out:
            out.write(json.dumps(data, indent=2))
            out.flush()
            os.fsync(out.fileno())
        return True

    def read_json(self, *parts: str) -> dict:
        with self.fs.open_input_stream(self.path(*parts)) as stream:
            return json.loads(stream.readall().decode())

    def list_parquet_files(self, *parts: str) -> list[str]:
        """The Parquet files of a folder, skipping hidden ones (temporary files of atomic writes)."""
        selector = pafs.FileSelector(self.path(*parts), allow_not_found=True)
        return sorted(
            i.path
            for i in self.fs.get_file_info(selector)
            if i.type == pafs.FileType.File
            and i.base_name.endswith(".parquet")
            and not i.base_name.startswith((".", "_"))
        )


def redact(uri: str) -> str:
    """A URI without user info (credentials) and query (options): what logs and run.json may hold."""
    if "://" not in uri:
        return uri
    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, parts.hostname or "", parts.path, "", ""))


def credentials_in(uri: str) -> bool:
    """Whether a URI carries a secret: a password in its user info (`s3://KEY:SECRET@bucket/...`, the one form
    pyarrow takes keys from a URI in; a user name alone, as in `hdfs://alice@namenode/`, is no secret). Ray Tune
    pickles the filesystem built from a run's URI into its experiment state in the run folder, so a sweep must get
    its keys from the environment."""
    return "://" in uri and urlsplit(uri).password is not None


def fsync(path: str) -> None:
    """Flush a local file's data to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


URI_SECRETS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^/@\s]+@)?(?P<rest>[^\s?'\"]*)(?:\?[^\s'\"]*)?")


def redact_text(text: str) -> str:
    """Every URI in a message without user info (credentials) and query (options that may hold keys)."""
    return URI_SECRETS.sub(lambda m: m["scheme"] + m["rest"], text)
