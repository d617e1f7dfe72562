"""Stage outputs: atomic directories, manifests, content hashes, skip-if-complete.

Every stage writes ``<output_dir>/<stage>/`` with a ``manifest.json``: the stage, its
config hash, git revision, spec version and sha256, parent manifests (path and content
hash), record count and the content hash of everything else in the directory. A stage
whose manifest matches the current config and parents is complete and is skipped.
Writes go to a temporary sibling directory that is renamed into place at the end, so an
interrupted stage never leaves a directory that looks complete.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import fnmatch
import hashlib
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from deliberate.errors import UserError

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
# Files a stage folder holds but its content hash leaves out (glob patterns on the relative path):
# views regenerated from the hashed files, with their own timestamps or filled in later. The model
# card (refreshed by the report stage) and the Inspect View copies of our eval transcripts
# (eval/inspect/logs.py: Inspect stamps each log with its creation time and random ids).
UNHASHED = ("model/README.md", "inspect/*/deliberate_*.eval")


def _unhashed(relative: str) -> bool:
    return any(fnmatch.fnmatchcase(relative, pattern) for pattern in UNHASHED)


def git_revision() -> str:
    here = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=here, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if rev.returncode != 0:
        return "unknown"
    return rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def hashed_files(directory: Path) -> list[Path]:
    """The files a stage folder's content hash covers, in order (manifest and UNHASHED excluded)."""
    directory = Path(directory)
    return sorted(p for p in directory.rglob("*") if p.is_file() and p.name != MANIFEST
                  and not _unhashed(p.relative_to(directory).as_posix()))


def content_hash(directory: Path) -> str:
    """sha256 over every file's relative path and bytes, in sorted order (manifest and UNHASHED excluded)."""
    return _hash_folder(directory)[0]


def _hash_folder(directory: Path) -> tuple[str, dict[str, str]]:
    """(content hash, {relative path: sha256 of the file}) in one read of every hashed file."""
    h = hashlib.sha256()
    directory = Path(directory)
    files = {}
    for f in hashed_files(directory):
        h.update(str(f.relative_to(directory)).encode() + b"\0")
        one = hashlib.sha256()
        with f.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
                one.update(chunk)
        h.update(b"\0")
        files[f.relative_to(directory).as_posix()] = one.hexdigest()
    return h.hexdigest(), files


def read_manifest(directory: Path) -> dict | None:
    path = Path(directory) / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (ValueError, RecursionError):  # not JSON, or not UTF-8
        return None
    return manifest if isinstance(manifest, dict) else None


def write_json_atomic(path: Path, value) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)


def write_jsonl(path: Path, rows) -> None:
    """One JSON object per line (sorted keys, UTF-8), written to a temp file and renamed."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")
    os.replace(tmp, path)


def parent_entry(directory: Path) -> dict:
    m = read_manifest(directory)
    if m is None:
        raise FileNotFoundError(f"{directory} has no {MANIFEST}: run the stage that writes it first")
    return {"stage": m["stage"], "path": str(directory), "content_hash": m["content_hash"]}


def is_complete(directory: Path, config_hash: str, parents: list[Path]) -> bool:
    m = read_manifest(directory)
    if m is None or m.get("config_hash") != config_hash:
        return False
    try:
        want = [parent_entry(p)["content_hash"] for p in parents]
    except FileNotFoundError:
        return False
    return [p["content_hash"] for p in m.get("parents", [])] == want


@contextlib.contextmanager
def stage_output(final: Path) -> Iterator[Path]:
    """Yield a temporary directory that replaces ``final`` only if the block succeeds."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    remove_orphans(final)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)


def remove_orphans(final: Path) -> list[Path]:
    """Delete the ``.<name>.tmp-<pid>`` folders beside ``final`` that a killed run left (its PID
    no longer runs on this host); returns them."""
    gone = []
    for old in Path(final).parent.glob(f".{Path(final).name}.tmp-*"):
        pid = old.name.rsplit("-", 1)[-1]
        if old.is_dir() and pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
            log.warning("removing %s, left by an interrupted run (PID %s)", old, pid)
            shutil.rmtree(old, ignore_errors=True)
            gone.append(old)
    return gone


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


# ------------------------------------------------------------------ one run per output folder

LOCK = ".deliberate.lock"


class LockedError(UserError, RuntimeError):
    """Another run holds the output folder's lock: the message names its PID and host."""


def _lock_holder(fh) -> dict | None:
    fh.seek(0)
    try:
        holder = json.loads(fh.read() or "null")
    except ValueError:
        return {"pid": None, "host": None, "since": None, "command": "an unreadable lock file"}
    return holder if isinstance(holder, dict) else None


@contextlib.contextmanager
def output_lock(folder: Path, take: bool = True) -> Iterator[None]:
    """Hold ``folder/.deliberate.lock`` for the block: the holder's PID, host, start time and command,
    under an advisory ``flock`` that the kernel drops when the holder dies. A second run stops with
    :class:`LockedError` naming the holder. A lock file whose holder is gone (its PID no longer runs
    on this host) is taken over with a warning. ``take=False`` (the non-main ranks of a distributed
    run, which the main rank covers) holds nothing. The file is emptied, never deleted, on release
    (deleting a flocked file lets two runs lock two different files)."""
    if not take:
        yield
        return
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK
    host = socket.gethostname()
    fh = open(path, "a+")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            locked = True
        except OSError:
            locked = False
        holder = _lock_holder(fh)
        alive = holder is not None and (holder.get("host") != host or holder.get("pid") is None
                                        or pid_alive(int(holder["pid"])))
        if not locked or (holder is not None and alive):
            h = holder or {}
            who = (f"PID {h.get('pid')} on host {h.get('host')} since {h.get('since')} ({h.get('command')})"
                   if holder else "another process")
            how = ("wait for it to finish or stop it" if locked is False or h.get("host") == host else
                   "if that run is over, delete the lock file")
            raise LockedError(f"{folder} is in use by {who}: {how} (lock file {path})")
        if holder is not None:
            log.warning("taking over the stale lock %s of PID %s on host %s (since %s): that process is gone",
                        path, holder.get("pid"), holder.get("host"), holder.get("since"))
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "host": host,
                             "since": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                             "command": " ".join(sys.argv)[:300]}) + "\n")
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fh.flush()
    finally:
        fh.close()


def write_manifest(directory: Path, *, stage: str, config_hash: str, spec=None, parents: list[Path] = (),
                   record_count: int, extra: dict | None = None) -> dict:
    """Write ``directory/manifest.json``; ``files`` (each file's sha256) lets a reader name the file
    that changed (:func:`verify_stage`); like the rest of the manifest it is outside the content hash."""
    digest, files = _hash_folder(directory)
    manifest = {
        "stage": stage,
        "config_hash": config_hash,
        "git_revision": git_revision(),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "spec": {"name": spec.name, "version": spec.version, "sha256": spec.sha256} if spec is not None else None,
        "parents": [parent_entry(p) for p in parents],
        "record_count": record_count,
        "content_hash": digest,
        "files": files,
        **(extra or {}),
    }
    write_json_atomic(Path(directory) / MANIFEST, manifest)
    return manifest


# ------------------------------------------------------------------ records and Merkle roots


def canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def record_hash(record: dict) -> str:
    """sha256 of a record's canonical JSON, every field but ``record_hash`` itself."""
    return hashlib.sha256(canonical_json({k: v for k, v in record.items() if k != "record_hash"}).encode()).hexdigest()


def merkle_root(hashes: list[str]) -> str:
    """Merkle root (sha256) over hex record hashes in order; leaves and inner nodes are
    domain-separated (0x00 / 0x01 prefixes) and an odd node is paired with itself."""
    level = [hashlib.sha256(b"\x00" + bytes.fromhex(h)).digest() for h in hashes]
    if not level:
        return hashlib.sha256(b"").hexdigest()
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level), 2)]
    return level[0].hex()


class VerifyError(UserError, ValueError):
    """A published dataset that does not match its manifest: the message names the record."""


def verify_dataset(directory: Path) -> dict:
    """Check every record's hash and the Merkle root in ``directory/manifest.json``.

    ``directory`` is a data-stage output (``manifest.json`` + ``dataset/``). Returns a
    summary; raises :class:`VerifyError` naming the first bad record (split, row,
    scenario id) or the mismatching root.
    """
    import datasets

    directory = Path(directory)
    manifest = read_manifest(directory)
    if manifest is None or "merkle_root" not in manifest:
        raise VerifyError(f"{directory / MANIFEST} is missing or has no merkle_root: not a Deliberate dataset")
    splits = manifest.get("splits")
    if not isinstance(splits, list) or not all(isinstance(s, str) for s in splits):
        raise VerifyError(f"{directory / MANIFEST} has no 'splits' list of split names: the manifest was edited")
    try:
        dd = datasets.load_from_disk(str(directory / "dataset"))
    except Exception as exc:  # any unreadable byte in an arrow file lands here
        raise VerifyError(f"{directory / 'dataset'} cannot be read ({type(exc).__name__}: {exc})") from exc
    hashes: list[str] = []
    bad: list[str] = []
    counts = {}
    for split in splits:
        if split not in dd:
            raise VerifyError(f"split {split!r} named in the manifest is missing from {directory / 'dataset'}")
        ds = dd[split]
        counts[split] = len(ds)
        i = 0
        try:
            for table in ds.with_format("arrow").iter(batch_size=1000):  # 2.5x faster than row by row
                for row in table.to_pylist():
                    stored = row.get("record_hash")
                    if stored != record_hash(row):
                        bad.append(f"{split}[{i}] (scenario {row.get('scenario_id')!r}): content does not match "
                                   f"its record_hash {str(stored)[:16]}")
                    hashes.append(str(stored))
                    i += 1
        except Exception as exc:  # damaged bytes that decode to invalid UTF-8, offsets out of range, ...
            raise VerifyError(f"record {split}[{i}] and after cannot be read from {directory / 'dataset'} "
                              f"({type(exc).__name__}: {str(exc)[:200]}): the Arrow file was damaged") from None
    if bad:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise VerifyError(f"record {bad[0]}{more}")
    root = merkle_root(hashes)
    if root != manifest["merkle_root"]:
        raise VerifyError(f"Merkle root {root} of the records does not match the manifest's {manifest['merkle_root']}: "
                          "records were added, removed or reordered")
    return {"records": len(hashes), "splits": counts, "merkle_root": root}


def verify_files(directory: Path, manifest: dict) -> int:
    """Every file of a stage folder against its manifest's per-file hashes (or, for a manifest
    written before those, its content hash); returns the number of files. Raises
    :class:`VerifyError` naming the changed, missing or added file."""
    directory = Path(directory)
    want = manifest.get("files")
    if want is None:
        if content_hash(directory) != manifest.get("content_hash"):
            raise VerifyError(f"{directory}: its files do not match the manifest's content hash (a file was "
                              "changed, added or removed; this manifest predates per-file hashes, so the file "
                              "cannot be named)")
        return len(hashed_files(directory))
    digest, have = _hash_folder(directory)
    problems = ([f"{f} was changed" for f in sorted(want) if f in have and have[f] != want[f]]
                + [f"{f} is missing" for f in sorted(set(want) - set(have))]
                + [f"{f} was added" for f in sorted(set(have) - set(want))])
    if problems:
        more = f" (and {len(problems) - 1} more: {'; '.join(problems[1:4])})" if len(problems) > 1 else ""
        hint = ("; cache-*.arrow files are `datasets` map() caches that an SFT run before this check wrote into "
                "the dataset: delete them" if any("/cache-" in p and p.endswith(".arrow was added") for p in problems)
                else "")
        raise VerifyError(f"{directory}: {problems[0]} since its manifest was written{more}{hint}")
    if digest != manifest.get("content_hash"):
        raise VerifyError(f"{directory}: the manifest's content hash does not match its own file list "
                          "(the manifest was edited)")
    return len(have)


def verify_stage(directory: Path) -> dict:
    """Check a stage folder against its manifest: a dataset's records (record hashes, Merkle root;
    the error names the record), then every file (the error names the file). Returns a summary:
    ``files`` checked, and for a dataset ``records``, ``splits``, ``merkle_root``."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    if manifest is None:
        raise VerifyError(f"{directory / MANIFEST} is missing, not JSON or not a JSON object: nothing to verify "
                          "against")
    out: dict = {"stage": manifest.get("stage")}
    if "merkle_root" in manifest or _has_record_hashes(directory):
        out.update(verify_dataset(directory))  # without merkle_root: "not a Deliberate dataset"
    out["files"] = verify_files(directory, manifest)
    return out


def _has_record_hashes(directory: Path) -> bool:
    """Whether ``directory/dataset`` holds records with a ``record_hash`` column (a data-stage
    dataset, so its manifest must carry a Merkle root)."""
    meta = Path(directory) / "dataset"
    for info in meta.glob("*/dataset_info.json"):
        try:
            if "record_hash" in (json.loads(info.read_text()).get("features") or {}):
                return True
        except (OSError, ValueError, AttributeError):
            return True  # unreadable metadata: let verify_dataset say what is wrong
    return False
