"""Backup and restore: one .tar.gz with everything akn-mail cannot derive, and a manifest.

``create`` works while ``akn-mail serve`` runs. What goes in, and in which order, is what
makes it consistent without stopping the service:

1. the spool (``spool/*.seg`` and ``spool/corrupt``): mail answered 250 but not processed;
2. the database, through SQLite's online backup API (consistent with the WAL at one moment);
3. the archive's Maildir, held mail, unattributed bounce reports and the VERP secret
   (``verp.key``: without it, bounces of mail sent before the restore are refused).

A spool entry is deleted only after its outcome is committed to the database, so a post
answered 250 before the backup began is either in the copied spool or in the database
snapshot (or both: the ``received`` table tells a restored server not to process it twice).
Archive and held files are written before their rows are committed, so every row in the
snapshot finds its file in step 3. Also in the archive: the config file, the site's
template overrides and the DKIM private key (``[dkim] key_file``; the backup is mode 0600). Not in it: the search index (derived; rebuilt on restore) and the
outbox (mail already handed on). ``manifest.json`` (last member) lists every file with its
size and SHA-256, the schema version and counts.

``verify`` reads the whole archive and checks every checksum, that nothing is missing or
extra, that no member name leaves its directory, and the database's integrity.
``restore`` refuses a non-empty target, verifies, writes ``DIR/akn-mail.toml`` (the saved
config, with its paths pointed into ``DIR``), ``DIR/data``, ``DIR/templates`` and
``DIR/keys/dkim.pem``, and
rebuilds the search index.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import os
import socket
import sqlite3
import tarfile
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Callable, Iterator

import akn_mail
from akn_mail import config as config_module
from akn_mail import db as db_module
from akn_mail.config import Config
from akn_mail.delivery import verp
from akn_mail.errors import AknError

FORMAT = "akn-mail-backup"
FORMAT_VERSION = 1
ROOT = "akn-mail-backup"
MANIFEST = "manifest.json"
DATABASE_NAME = "akn-mail.sqlite3"
DKIM_KEY = "keys/dkim.pem"
CHUNK = 1 << 20


class BackupError(AknError):
    """A backup cannot be written, read, verified or restored."""


@dataclass
class Manifest:
    """What a backup holds: every file with size and checksum, and what it means."""

    created_at: str
    version: str
    schema_version: int
    list_address: str
    host: str
    files: dict[str, dict] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict:
        return {
            "format": FORMAT, "format_version": FORMAT_VERSION, "created_at": self.created_at,
            "akn_mail_version": self.version, "schema_version": self.schema_version,
            "list_address": self.list_address, "host": self.host, "counts": self.counts, "files": self.files,
        }

    @classmethod
    def from_json(cls, data: dict) -> "Manifest":
        if data.get("format") != FORMAT or data.get("format_version") != FORMAT_VERSION:
            raise BackupError(f"the manifest is not an {FORMAT} version {FORMAT_VERSION} manifest.")
        return cls(created_at=data["created_at"], version=data["akn_mail_version"],
                   schema_version=data["schema_version"], list_address=data["list_address"], host=data.get("host", ""),
                   files=data["files"], counts=data.get("counts", {}))

    @property
    def size(self) -> int:
        return sum(entry["size"] for entry in self.files.values())

    def summary(self) -> str:
        counts = ", ".join(f"{value} {name.replace('_', ' ')}" for name, value in self.counts.items())
        return (f"{len(self.files)} files ({self.size} bytes) of {self.list_address}, "
                f"taken {self.created_at} by akn-mail {self.version} (schema {self.schema_version}); {counts}")


class _Hashing(io.RawIOBase):
    """Reads a file for tarfile and computes its SHA-256 on the way."""

    def __init__(self, handle: BinaryIO):
        self.handle = handle
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        return data


class _Writer:
    """Adds files to the tar and records them for the manifest."""

    def __init__(self, tar: tarfile.TarFile):
        self.tar = tar
        self.files: dict[str, dict] = {}

    def add_file(self, source: Path, name: str) -> bool:
        """Add one file; False when it vanished meanwhile (a spool segment finished, held mail expired)."""
        try:
            handle = open(source, "rb")
        except FileNotFoundError:
            return False
        with handle:
            info = os.fstat(handle.fileno())
            member = tarfile.TarInfo(f"{ROOT}/{name}")
            member.size = info.st_size
            member.mtime = int(info.st_mtime)
            member.mode = 0o640
            hashing = _Hashing(handle)
            self.tar.addfile(member, hashing)
        self.files[name] = {"size": info.st_size, "sha256": hashing.digest.hexdigest()}
        return True

    def add_bytes(self, data: bytes, name: str, record: bool = True) -> None:
        member = tarfile.TarInfo(f"{ROOT}/{name}")
        member.size = len(data)
        member.mtime = int(datetime.datetime.now().timestamp())
        member.mode = 0o640
        self.tar.addfile(member, io.BytesIO(data))
        if record:
            self.files[name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}

    def add_tree(self, directory: Path, prefix: str, keep: Callable[[Path], bool] = lambda path: True) -> int:
        count = 0
        if not directory.is_dir():
            return 0
        for path in sorted(directory.rglob("*")):
            if path.is_file() and not path.is_symlink() and keep(path):
                relative = path.relative_to(directory).as_posix()
                count += self.add_file(path, f"{prefix}/{relative}")
        return count


def _snapshot_database(config: Config, target: Path) -> None:
    """Copy the live database with SQLite's backup API (consistent even while serve writes)."""
    source = db_module.connect(config.database_path)  # also brings a fresh installation's schema up
    try:
        copy = sqlite3.connect(str(target))
        try:
            source.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            copy.close()
    finally:
        source.close()


def _schema_version(path: Path) -> int:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return db_module.schema_version(connection)
    finally:
        connection.close()


def _count(path: Path) -> dict[str, int]:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        counts = {}
        for name, sql in (
            ("members", "SELECT count(*) FROM members"),
            ("contacts", "SELECT count(*) FROM contacts"),
            ("archived_messages", "SELECT count(*) FROM archived_messages"),
            ("held_messages", "SELECT count(*) FROM held"),
            ("queued_deliveries", "SELECT count(*) FROM deliveries WHERE status IN ('pending', 'deferred')"),
        ):
            counts[name] = connection.execute(sql).fetchone()[0]
        return counts
    finally:
        connection.close()


def create(config: Config, target: Path) -> Manifest:
    """Write a backup of the installation to ``target`` (a new file); return its manifest."""
    target = Path(target)
    if target.exists():
        raise BackupError(f"{target} exists already; give a new file name (backup never overwrites files).")
    if not config.data_dir.is_dir():
        raise BackupError(f"the data directory {config.data_dir} does not exist; check [storage] data_dir.")
    partial = target.with_name(target.name + ".partial")
    try:
        raw = open(partial, "xb")
    except FileExistsError:
        raise BackupError(f"{partial} exists: another backup is running, or one was interrupted; remove it and try again.") from None
    except OSError as error:
        raise BackupError(f"cannot write {target}: {error.strerror}.") from None
    try:
        with raw, tempfile.TemporaryDirectory(prefix="akn-backup-") as scratch:
            os.chmod(raw.fileno(), 0o600)  # it holds the roster and the archive
            with tarfile.open(fileobj=raw, mode="w:gz") as tar:
                writer = _Writer(tar)
                data = config.data_dir
                # 1. spool, 2. database, 3. the files rows point to (see the module docstring).
                spooled = writer.add_tree(config.spool_dir, "data/spool", keep=lambda path: not path.name.endswith(".tmp"))
                snapshot = Path(scratch) / DATABASE_NAME
                _snapshot_database(config, snapshot)
                writer.add_file(snapshot, f"data/{DATABASE_NAME}")
                in_maildir = lambda path: path.parent.name in ("cur", "new")  # noqa: E731 - tmp/ is unfinished
                writer.add_tree(config.maildir_path, "data/maildir", keep=in_maildir)
                writer.add_tree(data / "held", "data/held", keep=lambda path: not path.name.endswith(".tmp"))
                writer.add_tree(data / "bounces", "data/bounces")
                if (data / verp.KEY_FILE).is_file():  # the VERP secret: bounces of mail sent before still verify
                    writer.add_file(data / verp.KEY_FILE, f"data/{verp.KEY_FILE}")
                if config.path is not None and config.path.is_file():
                    writer.add_file(config.path, "config/akn-mail.toml")
                if config.templates.directory:
                    writer.add_tree(config.resolve(config.templates.directory), "templates")
                key_file = getattr(getattr(config, "dkim", None), "key_file", "")
                if key_file and config.resolve(key_file).is_file():
                    writer.add_file(config.resolve(key_file), DKIM_KEY)  # without it the restored list cannot sign
                counts = _count(snapshot)
                counts["spool_segments"] = spooled
                manifest = Manifest(
                    created_at=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    version=akn_mail.__version__,
                    schema_version=_schema_version(snapshot),
                    list_address=config.list.address, host=socket.gethostname(), files=writer.files, counts=counts,
                )
                writer.add_bytes(json.dumps(manifest.as_json(), indent=2, sort_keys=True).encode("utf-8"), MANIFEST,
                                 record=False)
            raw.flush()
            os.fsync(raw.fileno())
        os.rename(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return manifest


def _safe_name(name: str) -> str:
    """The member's path below ROOT; refuses anything that could leave the target directory."""
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts or path.parts[0] != ROOT or len(path.parts) < 2:
        raise BackupError(f"the backup contains an unsafe file name {name!r}; it was not written by akn-mail backup.")
    return "/".join(path.parts[1:])


def _members(path: Path) -> Iterator[tuple[str, tarfile.TarFile, tarfile.TarInfo]]:
    try:
        tar = tarfile.open(path, mode="r:gz")
    except FileNotFoundError:
        raise BackupError(f"{path} does not exist.") from None
    except (tarfile.TarError, OSError, EOFError) as error:
        raise BackupError(f"{path} is not a readable backup ({error}).") from None
    with tar:
        try:
            for member in tar:
                if member.isdir():
                    continue
                if not member.isfile():
                    raise BackupError(f"the backup contains {member.name!r}, which is not a regular file; it was not written by akn-mail backup.")
                yield _safe_name(member.name), tar, member
        except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
            raise BackupError(f"{path} is damaged or cut short ({type(error).__name__}: {error}); use another backup.") from None


def verify(path: Path, extract_to: Path | None = None) -> Manifest:
    """Check every checksum (and the database); with ``extract_to``, also write the files there."""
    path = Path(path)
    seen: dict[str, dict] = {}
    manifest_data = None
    database_copy = None
    with tempfile.TemporaryDirectory(prefix="akn-verify-") as scratch:
        try:
            for name, tar, member in _members(path):
                if name == MANIFEST:
                    manifest_data = tar.extractfile(member).read()
                    continue
                if name in seen:
                    raise BackupError(f"the backup contains {name} twice; it was not written by akn-mail backup.")
                source = tar.extractfile(member)
                digest = hashlib.sha256()
                out = None
                if extract_to is not None:
                    destination = Path(extract_to) / name
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    out = open(destination, "xb")
                elif name == f"data/{DATABASE_NAME}":
                    database_copy = Path(scratch) / DATABASE_NAME
                    out = open(database_copy, "xb")
                size = 0
                try:
                    while chunk := source.read(CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        if out is not None:
                            out.write(chunk)
                finally:
                    if out is not None:
                        out.close()
                seen[name] = {"size": size, "sha256": digest.hexdigest()}
        except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
            if isinstance(error, FileExistsError):
                raise
            raise BackupError(f"{path} is damaged or cut short ({type(error).__name__}: {error}); use another backup.") from None
        if manifest_data is None:
            raise BackupError(f"{path} has no {MANIFEST}: it is cut short or not an akn-mail backup.")
        try:
            manifest = Manifest.from_json(json.loads(manifest_data))
        except (ValueError, KeyError, TypeError) as error:
            raise BackupError(f"the manifest of {path} cannot be read ({error}).") from None
        missing = sorted(set(manifest.files) - set(seen))
        extra = sorted(set(seen) - set(manifest.files))
        changed = sorted(name for name in set(seen) & set(manifest.files) if seen[name] != manifest.files[name])
        if missing or extra or changed:
            parts = []
            for label, names in (("missing", missing), ("not in the manifest", extra), ("checksum differs", changed)):
                if names:
                    parts.append(f"{label}: {', '.join(names[:5])}" + (f" and {len(names) - 5} more" if len(names) > 5 else ""))
            raise BackupError(f"{path} does not match its manifest ({'; '.join(parts)}); use another backup.")
        if f"data/{DATABASE_NAME}" not in seen:
            raise BackupError(f"{path} holds no database; it was not written by akn-mail backup.")
        database = database_copy if extract_to is None else Path(extract_to) / "data" / DATABASE_NAME
        _check_database(database, manifest)
    return manifest


def _check_database(path: Path, manifest: Manifest) -> None:
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = connection.execute("PRAGMA integrity_check").fetchone()[0]
            version = db_module.schema_version(connection)
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise BackupError(f"the database in the backup cannot be read ({error}); use another backup.") from None
    if result != "ok":
        raise BackupError(f"the database in the backup fails SQLite's integrity check ({result}); use another backup.")
    if version > db_module.latest_version():
        raise BackupError(
            f"the backup's database has schema version {version}, but this akn-mail knows only up to "
            f"{db_module.latest_version()}; restore it with akn-mail {manifest.version} or newer."
        )


def restore(path: Path, target: Path, progress: Callable[[int], None] | None = None) -> tuple[Manifest, Path, int]:
    """Restore into the new or empty directory ``target``; return (manifest, config path, indexed count)."""
    target = Path(target)
    if target.exists():
        if not target.is_dir():
            raise BackupError(f"{target} exists and is not a directory; give a new or empty directory with --to.")
        if any(target.iterdir()):
            raise BackupError(f"{target} is not empty; give a new or empty directory with --to (restore never overwrites files).")
    verify(path)  # first a full pass: nothing is written from a damaged backup
    target.mkdir(parents=True, exist_ok=True, mode=0o750)
    manifest = verify(path, extract_to=target)
    data = target / "data"
    data.chmod(0o750)
    if (data / verp.KEY_FILE).exists():
        (data / verp.KEY_FILE).chmod(0o600)  # a secret, as akn-mail created it
    config_path = _write_config(target, manifest)
    config = config_module.load(config_path, environ={})
    # A fresh index from the restored Maildir (also files metadata a message may lack).
    from akn_mail.archive.filing import Archive

    connection = db_module.connect(config.database_path)
    try:
        indexed = Archive(config, connection).reindex(progress=progress)
    finally:
        connection.close()
    return manifest, config_path, indexed


def _write_config(target: Path, manifest: Manifest) -> Path:
    """``target/akn-mail.toml``: the saved config with data, index and templates pointed into target."""
    saved = target / "config" / "akn-mail.toml"
    sections: dict = config_module.read_toml(saved) if saved.exists() else {}
    sections.setdefault("storage", {})["data_dir"] = "data"
    sections.get("archive", {}).pop("index_dir", None)
    if (target / DKIM_KEY).is_file():
        (target / DKIM_KEY).chmod(0o600)
        (target / DKIM_KEY).parent.chmod(0o700)
        sections.setdefault("dkim", {})["key_file"] = DKIM_KEY
    if (target / "templates").is_dir():
        sections.setdefault("templates", {})["directory"] = "templates"
    else:
        sections.get("templates", {}).pop("directory", None)
    if not saved.exists():
        sections.setdefault("list", {})["address"] = manifest.list_address
    path = target / "akn-mail.toml"
    header = (f"# Restored by akn-mail restore from a backup taken {manifest.created_at} on {manifest.host}.\n"
              "# The paths point into this directory; the config as saved is config/akn-mail.toml.\n")
    path.write_text(header + config_module.toml_text(sections), encoding="utf-8")
    path.chmod(0o640)
    return path
