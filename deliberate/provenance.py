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
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from deliberate.errors import UserError

MANIFEST = "manifest.json"


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


def content_hash(directory: Path) -> str:
    """sha256 over every file's relative path and bytes, in sorted order (manifest excluded)."""
    h = hashlib.sha256()
    directory = Path(directory)
    for f in sorted(p for p in directory.rglob("*") if p.is_file() and p.name != MANIFEST):
        h.update(str(f.relative_to(directory)).encode() + b"\0")
        with f.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        h.update(b"\0")
    return h.hexdigest()


def read_manifest(directory: Path) -> dict | None:
    path = Path(directory) / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        return None


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


def write_manifest(directory: Path, *, stage: str, config_hash: str, spec=None, parents: list[Path] = (),
                   record_count: int, extra: dict | None = None) -> dict:
    manifest = {
        "stage": stage,
        "config_hash": config_hash,
        "git_revision": git_revision(),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "spec": {"name": spec.name, "version": spec.version, "sha256": spec.sha256} if spec is not None else None,
        "parents": [parent_entry(p) for p in parents],
        "record_count": record_count,
        "content_hash": content_hash(directory),
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
    try:
        dd = datasets.load_from_disk(str(directory / "dataset"))
    except Exception as exc:  # any unreadable byte in an arrow file lands here
        raise VerifyError(f"{directory / 'dataset'} cannot be read ({type(exc).__name__}: {exc})") from exc
    hashes: list[str] = []
    bad: list[str] = []
    counts = {}
    for split in manifest["splits"]:
        if split not in dd:
            raise VerifyError(f"split {split!r} named in the manifest is missing from {directory / 'dataset'}")
        ds = dd[split]
        counts[split] = len(ds)
        for i, row in enumerate(ds):
            stored = row.get("record_hash")
            if stored != record_hash(row):
                bad.append(f"{split}[{i}] (scenario {row.get('scenario_id')!r}): content does not match its "
                           f"record_hash {str(stored)[:16]}")
            hashes.append(str(stored))
    if bad:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise VerifyError(f"record {bad[0]}{more}")
    root = merkle_root(hashes)
    if root != manifest["merkle_root"]:
        raise VerifyError(f"Merkle root {root} of the records does not match the manifest's {manifest['merkle_root']}: "
                          "records were added, removed or reordered")
    return {"records": len(hashes), "splits": counts, "merkle_root": root}
