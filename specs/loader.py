"""Load and validate a specification written as Markdown with clause IDs.

A spec file has a ``Version: X`` line near the top and one heading line per clause::

    ### AS1 — No covert actions or strategic deception

    Body paragraph(s) ...

The separator may be an em dash, an en dash or a hyphen with spaces around it. A clause
ID is two or more uppercase letters followed by digits (``AS1``, ``GP4``, ``SEC12``). A
clause body runs until the next heading of level 1-3. Headings inside fenced code blocks
are ignored. Any problem raises :class:`SpecError` naming the file and line. A spec is at most
``MAX_SPEC_BYTES`` (it goes into every teacher prompt; the data stage also checks the whole
prompt against the model's context window) and holds no NUL bytes.

    >>> spec = load_spec("anti_scheming")
    >>> spec.ids()[:2]
    ['AS1', 'AS2']
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from deliberate.errors import UserError

ID_RE = re.compile(r"^[A-Z]{2,}[0-9]+$")
VERSION_RE = re.compile(r"^\s*Version:\s*(\S.*?)\s*$")
HEADING_RE = re.compile(r"^(#{1,3})(?:[ \t]+(.*?))?[ \t]*$")
CLAUSE_HEADING_RE = re.compile(r"^(\S+)\s+(?:—|–|-)\s+(\S.*)$")
FENCE_RE = re.compile(r"^\s*(```|~~~)")
# A token shaped like a clause ID, delimited by word boundaries (so "GAS12" is not "AS1...").
CITATION_RE = re.compile(r"\b([A-Z]{2,})([0-9]+)\b")
# A clause ID written with a separator ("AS 3", "GP-8", "AS\u20113"), not followed by a suffix ("AS-3-bis"): see
# citation_mentions.
SEPARATED_CITATION_RE = re.compile(r"\b([A-Z]{2,})([ \u00a0]|[-\u2010\u2011\u2013])([0-9]+)\b"
                                   r"(?![-.\u2010\u2011\u2013]\w)")
# A clause ID in lower case, joined ("gp3", "as9"): writers' shorthand beside or instead of "GP3"
LOWER_CITATION_RE = re.compile(r"\b([a-z]{2,})([0-9]+)\b")
PACKAGE = "deliberate.specs"
MAX_SPEC_BYTES = 256 * 1024  # ~64k tokens: more than any spec needs, far less than a hostile 17 MB file


class SpecError(UserError, ValueError):
    """A spec that cannot be loaded; the message names the file and line."""


@dataclass(frozen=True)
class Clause:
    id: str
    title: str
    body: str


@dataclass(frozen=True)
class Spec:
    name: str
    version: str
    sha256: str  # of the file bytes
    text: str  # the full Markdown
    clauses: dict[str, Clause] = field(default_factory=dict)  # in file order
    path: str = ""

    def ids(self) -> list[str]:
        return list(self.clauses)

    def clause(self, clause_id: str) -> Clause:
        try:
            return self.clauses[clause_id]
        except KeyError:
            known = ", ".join(self.clauses)
            raise KeyError(f"spec {self.name!r} has no clause {clause_id!r}; known: {known}") from None

    def prefixes(self) -> set[str]:
        """The letter prefixes of this spec's IDs (``{"AS", "GP"}``)."""
        return {re.match(r"[A-Z]+", cid).group(0) for cid in self.clauses}

    def render(self, style: str = "full") -> str:
        """The text to put in a system prompt: the whole spec (``full``) or, for models whose
        context or compute cannot take it, one ``ID — title`` line per clause (``titles``)."""
        if style == "full":
            return self.text.strip() + "\n"
        if style == "titles":
            titles = [f"{c.id} — {c.title}" for c in self.clauses.values()]
            return "\n".join([f"{self.name} v{self.version}"] + titles) + "\n"
        raise ValueError(f"spec render style must be 'full' or 'titles', got {style!r}")


def _resolve(name_or_path: str) -> tuple[str, Path | None, bytes]:
    """A bare name (no separator, no suffix) is a packaged spec; anything else is a path."""
    if re.fullmatch(r"[A-Za-z0-9_\-]+", name_or_path):
        ref = resources.files(PACKAGE).joinpath(f"{name_or_path}.md")
        if not ref.is_file():
            available = sorted(p.name[:-3] for p in resources.files(PACKAGE).iterdir() if p.name.endswith(".md"))
            raise SpecError(f"{name_or_path}: no packaged spec of that name; available: {', '.join(available)} "
                            f"(or pass a path to a .md file)")
        return name_or_path, None, ref.read_bytes()
    path = Path(name_or_path)
    if not path.is_file():
        raise SpecError(f"{path}: spec file not found")
    size = path.stat().st_size
    if size > MAX_SPEC_BYTES:
        raise SpecError(f"{path}: {size} bytes; a spec is at most {MAX_SPEC_BYTES} bytes (it is sent with every "
                        f"teacher request)")
    return path.stem, path, path.read_bytes()


def load_spec(name_or_path: str) -> Spec:
    """Load a packaged spec by name (``"anti_scheming"``) or a spec file by path."""
    name, path, raw = _resolve(str(name_or_path))
    where = str(path) if path is not None else f"{PACKAGE}/{name}.md"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"{where}: not UTF-8 text ({exc})") from None
    if "\x00" in text:
        raise SpecError(f"{where}:{text[:text.index(chr(0))].count(chr(10)) + 1}: a NUL byte; a spec is Markdown "
                        "text, not a binary file")

    def fail(lineno: int, msg: str):
        raise SpecError(f"{where}:{lineno}: {msg}")

    version = None
    clauses: dict[str, Clause] = {}
    first_line: dict[str, int] = {}
    current: tuple[str, str, int] | None = None  # (id, title, heading line)
    body: list[str] = []
    in_fence = False

    def close():
        if current is None:
            return
        cid, title, lineno = current
        text_body = "\n".join(body).strip()
        if not text_body:
            fail(lineno, f"clause {cid} has an empty body")
        clauses[cid] = Clause(cid, title, text_body)

    for lineno, line in enumerate(text.splitlines(), start=1):
        if FENCE_RE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else HEADING_RE.match(line)
        if heading is None:
            if version is None and not first_line and (m := VERSION_RE.match(line)):
                version = m.group(1)
            if current is not None:
                body.append(line)
            continue
        close()
        current, body = None, []
        if len(heading.group(1)) < 3:
            continue
        content = heading.group(2) or ""
        m = CLAUSE_HEADING_RE.match(content)
        if m is None:
            fail(lineno, f"clause heading {line.strip()!r} is not of the form '### ID — title' "
                         f"(separator: em dash, en dash or ' - ')")
        cid, title = m.group(1), m.group(2).strip()
        if not ID_RE.match(cid):
            fail(lineno, f"malformed clause ID {cid!r}: expected two or more uppercase letters followed by "
                         f"digits, e.g. AS1 or SEC12")
        if cid in first_line:
            fail(lineno, f"duplicate clause ID {cid} (first defined on line {first_line[cid]})")
        first_line[cid] = lineno
        current = (cid, title, lineno)
    close()

    if version is None:
        fail(1, "no 'Version: X' line before the first clause")
    if not clauses:
        fail(1, "no clauses: expected heading lines like '### AS1 — title'")
    return Spec(name=name, version=version, sha256=hashlib.sha256(raw).hexdigest(), text=text,
                clauses=clauses, path=where)


def citation_mentions(text: str, spec: Spec) -> list[tuple[int, int, str]]:
    """Each clause-ID mention with one of the spec's prefixes in ``text``: ``(start, end, id)`` in text order,
    ``id`` written without a separator, in upper case. Besides ``AS3`` it reads ``AS-3`` (a hyphen or an en dash),
    ``AS 3`` and the joined lower-case ``as3`` (writers' shorthand: "gp3 and GP3 both say ...", "per as9").
    The spaced form can be ordinary text ("SEC 10" in a spec with prefix SEC), so it counts when it names a real
    clause, or a clause that does not exist only in a text that also cites a real one ("per AS 3 and GP 8"). A
    separated ID followed by a suffix (``AS-3-bis``, ``AS-2b``) is not a mention; the joined form is read up to
    its digits (``GP2`` in ``GP2.1`` and in the range ``GP1-GP4``; :func:`deliberate.eval.miscitation.
    malformed_ids` reads the suffixes)."""
    prefixes = spec.prefixes()
    found = [(m.start(), m.end(), m.group(0), False) for m in CITATION_RE.finditer(text or "")
             if m.group(1) in prefixes]
    found += [(m.start(), m.end(), m.group(1) + m.group(3), m.group(2) in " \u00a0")
              for m in SEPARATED_CITATION_RE.finditer(text or "") if m.group(1) in prefixes]
    found += [(m.start(), m.end(), m.group(1).upper() + m.group(2), False)
              for m in LOWER_CITATION_RE.finditer(text or "") if m.group(1).upper() in prefixes]
    found.sort()
    cites_real = any(cid in spec.clauses for _, _, cid, _ in found)
    return [(a, b, cid) for a, b, cid, spaced in found if not spaced or cid in spec.clauses or cites_real]


def cited_ids(text: str, spec: Spec) -> tuple[list[str], list[str]]:
    """Clause citations in ``text`` (:func:`citation_mentions`): (IDs of the spec, in order of first appearance;
    ID-shaped tokens with one of the spec's prefixes that name no clause, e.g. ``AS9``, ``GP-8``). Tokens with
    other prefixes (``MP3``) are not citations and are ignored. IDs are returned without separators."""
    valid: list[str] = []
    unknown: list[str] = []
    for _, _, token in citation_mentions(text, spec):
        bucket = valid if token in spec.clauses else unknown
        if token not in bucket:
            bucket.append(token)
    return valid, unknown
