"""The landing folder: which deliveries and files exist, and which must not be read.

A delivery is a folder named ``YYYYMMDD`` (a real date) directly in the landing. Inside
it only regular files named ``<entity>.csv`` or ``<entity>.xlsx`` are read, plus an
optional ``_manifest.json``. Symbolic links (to files or folders), hard links (a regular
file with more than one name: the other name may be outside the landing), devices, pipes
and anything else are refused without being opened, and recorded; unknown names are
reported. Files are opened relative to a descriptor of their folder with ``O_NOFOLLOW``
and checked again once open (a regular file with one link), so a link swapped in after
the scan is refused too, and nothing outside the landing is ever read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from budgetperf.ingest.entities import ENTITIES, ENTITY_ORDER
from budgetperf.ingest.manifest import ManifestEntry, ManifestError, parse_manifest
from budgetperf.ingest.values import Problem

MANIFEST_NAME = "_manifest.json"
_DELIVERY = re.compile(r"\d{8}")
_FILE = re.compile(r"([a-z_]+)\.(csv|xlsx)")
_MANIFEST_LIMIT = 1 << 20  # a manifest is a few hundred bytes; refuse anything absurd


class LandingError(Exception):
    """The landing folder itself is missing or unusable."""


@dataclass(frozen=True)
class Finding:
    """Something in the landing that is not loaded: reported, and kept in the ledger."""

    as_of: dt.date | None
    path: str  # relative to the landing
    kind: str  # not_a_delivery | link_refused | not_a_folder | unknown_file | ...
    zh: str
    en: str
    identity: str = ""  # what distinguishes this finding from a later one at the same path

    @property
    def reason(self) -> str:
        return f"{self.zh} / {self.en}"


@dataclass(frozen=True)
class Candidate:
    """A file named like an entity: loaded, or refused with a recorded reason."""

    entity: str
    as_of: dt.date
    name: str
    rel_path: str
    file_format: str
    refused: Problem | None = None
    identity: str = ""  # for a refused entry: what it is (a link's target), not its bytes
    conflict: bool = False  # csv and xlsx of the same entity in one delivery


@dataclass
class Delivery:
    as_of: dt.date
    name: str
    path: Path
    candidates: list[Candidate] = field(default_factory=list)
    manifest: dict[str, ManifestEntry] | None = None
    manifest_problem: Problem | None = None

    def ordered(self) -> list[Candidate]:
        order = {name: i for i, name in enumerate(ENTITY_ORDER)}
        return sorted(self.candidates, key=lambda c: (order[c.entity], c.name))


def parse_as_of(name: str) -> dt.date | None:
    if not _DELIVERY.fullmatch(name):
        return None
    try:
        return dt.datetime.strptime(name, "%Y%m%d").date()
    except ValueError:
        return None


def _link_identity(path: Path) -> str:
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    return "link -> " + target


def _hard_links(entry: os.DirEntry[str]) -> int:
    """How many names the entry's file has (1 for anything that is not a regular file)."""
    if entry.is_symlink() or not entry.is_file(follow_symlinks=False):
        return 1
    try:
        return entry.stat(follow_symlinks=False).st_nlink
    except OSError:
        return 1  # vanished since the scan: opening it will say so


def _hard_link_identity(entry: os.DirEntry[str]) -> str:
    try:
        info = entry.stat(follow_symlinks=False)
    except OSError:
        return "hard link"
    return f"hard link (device {info.st_dev}, inode {info.st_ino})"


HARD_LINK = Problem(
    "file",
    "硬链接（该文件还有其他名称，可能在落地目录之外），已拒绝读取（只读取交付文件夹中的普通文件）",
    "a hard link (the file has other names, possibly outside the landing): refused (only "
    "regular files inside the delivery folder are read)",
)


def _hint(name: str) -> tuple[str, str]:
    stem, _, ext = name.lower().partition(".")
    stem = stem.replace("-", "_").replace(" ", "_")
    if stem in ENTITIES:
        proper = f"{stem}.{ext if ext in ('csv', 'xlsx') else 'csv'}"
        return f"（是否应命名为 {proper}？）", f" (did you mean {proper}?)"
    return "", ""


def discover(
    landing: Path,
    *,
    up_to: dt.date | None = None,
    as_of: dt.date | None = None,
) -> tuple[list[Delivery], list[Finding]]:
    """The deliveries to consider (in date order) and everything else worth reporting."""
    try:
        root = landing.resolve(strict=True)
    except OSError:
        raise LandingError(f"landing folder {landing} does not exist") from None
    if not root.is_dir():
        raise LandingError(f"landing {landing} is not a folder")
    deliveries: list[Delivery] = []
    findings: list[Finding] = []
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        name = entry.name
        if name.startswith("."):
            continue  # hidden files (editor and OS droppings) are not deliveries
        day = parse_as_of(name)
        if day is None:
            findings.append(
                Finding(
                    None,
                    name,
                    "not_a_delivery",
                    "名称不是 YYYYMMDD 日期，不是交付，未读取",
                    "not named YYYYMMDD (a date): not a delivery, not read",
                )
            )
            continue
        if (as_of is not None and day != as_of) or (up_to is not None and day > up_to):
            continue
        if entry.is_symlink():
            findings.append(
                Finding(
                    day,
                    name,
                    "link_refused",
                    "交付文件夹是符号链接，已拒绝读取",
                    "the delivery folder is a symbolic link: refused",
                    _link_identity(Path(entry.path)),
                )
            )
            continue
        if not entry.is_dir(follow_symlinks=False):
            findings.append(
                Finding(day, name, "not_a_folder", "不是文件夹，未读取", "not a folder, not read")
            )
            continue
        delivery = Delivery(as_of=day, name=name, path=Path(entry.path))
        findings.extend(_scan_delivery(delivery))
        deliveries.append(delivery)
    deliveries.sort(key=lambda d: d.as_of)
    return deliveries, findings


def _scan_delivery(delivery: Delivery) -> list[Finding]:
    findings: list[Finding] = []
    by_entity: dict[str, list[Candidate]] = {}
    manifest_seen = False
    with open_folder(delivery.path) as folder_fd:
        entries = sorted(os.scandir(folder_fd), key=lambda e: e.name)
        for entry in entries:
            name = entry.name
            rel = f"{delivery.name}/{name}"
            is_link = entry.is_symlink()
            if name == MANIFEST_NAME:
                manifest_seen = True
                if is_link or not entry.is_file(follow_symlinks=False):
                    delivery.manifest_problem = ManifestError(
                        "它是符号链接或不是普通文件，已拒绝读取",
                        "it is a symbolic link or not a regular file: refused",
                    ).problem
                    continue
                if _hard_links(entry) > 1:
                    delivery.manifest_problem = ManifestError(
                        "它是硬链接（该文件还有其他名称），已拒绝读取",
                        "it is a hard link (the file has other names): refused",
                    ).problem
                    continue
                try:
                    fd = open_regular(folder_fd, name)
                    with os.fdopen(fd, "rb") as handle:
                        data = handle.read(_MANIFEST_LIMIT + 1)
                    if len(data) > _MANIFEST_LIMIT:
                        raise ManifestError("文件过大", "the file is too large")
                    delivery.manifest = parse_manifest(data)
                except ManifestError as exc:
                    delivery.manifest_problem = exc.problem
                except OSError as exc:
                    delivery.manifest_problem = ManifestError(
                        f"无法读取（{exc.strerror}）", f"cannot be read ({exc.strerror})"
                    ).problem
                continue
            match = _FILE.fullmatch(name)
            if match is None or match.group(1) not in ENTITIES:
                if entry.is_dir(follow_symlinks=False):
                    findings.append(
                        Finding(
                            delivery.as_of,
                            rel,
                            "unexpected_folder",
                            "交付中的子文件夹不会被读取",
                            "a folder inside a delivery is not read",
                        )
                    )
                    continue
                hint_zh, hint_en = _hint(name)
                findings.append(
                    Finding(
                        delivery.as_of,
                        rel,
                        "link_refused" if is_link else "unknown_file",
                        ("符号链接，" if is_link else "")
                        + f"文件名不是 <实体>.csv 或 <实体>.xlsx，未读取{hint_zh}",
                        ("a symbolic link; " if is_link else "")
                        + f"not named <entity>.csv or <entity>.xlsx, not read{hint_en}",
                        _link_identity(Path(entry.path)) if is_link else "",
                    )
                )
                continue
            entity, file_format = match.group(1), match.group(2)
            refused: Problem | None = None
            identity = ""
            if is_link:
                refused = Problem(
                    "file",
                    "符号链接，已拒绝读取（只读取交付文件夹中的普通文件）",
                    "a symbolic link: refused (only regular files inside the delivery "
                    "folder are read)",
                )
                identity = _link_identity(Path(delivery.path) / name)
            elif not entry.is_file(follow_symlinks=False):
                refused = Problem("file", "不是普通文件，已拒绝读取", "not a regular file: refused")
                identity = "not a regular file"
            elif _hard_links(entry) > 1:
                refused = HARD_LINK
                identity = _hard_link_identity(entry)
            candidate = Candidate(
                entity=entity,
                as_of=delivery.as_of,
                name=name,
                rel_path=rel,
                file_format=file_format,
                refused=refused,
                identity=identity,
            )
            by_entity.setdefault(entity, []).append(candidate)
    for candidates in by_entity.values():
        if len(candidates) > 1:
            candidates = [Candidate(**{**c.__dict__, "conflict": True}) for c in candidates]
        delivery.candidates.extend(candidates)
    if manifest_seen and delivery.manifest is not None:
        present = {c.name for c in delivery.candidates}
        for listed in sorted(delivery.manifest):
            if listed not in present:
                findings.append(
                    Finding(
                        delivery.as_of,
                        f"{delivery.name}/{listed}",
                        "manifest_file_missing",
                        "_manifest.json 列出了此文件，但交付中没有",
                        "listed in _manifest.json but not in the delivery",
                    )
                )
    return findings


@contextmanager
def open_folder(path: Path) -> Iterator[int]:
    """A descriptor of a delivery folder, refusing a link swapped in for it."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        yield fd
    finally:
        os.close(fd)


def open_regular(folder_fd: int, name: str) -> int:
    """Open ``name`` inside the folder: never through a symbolic link, never a non-regular
    file, never a hard link (a file with other names, maybe outside the landing)."""
    # O_NONBLOCK: opening a FIFO must not hang; it has no effect on regular files
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder_fd)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(0, "not a regular file")
        if info.st_nlink > 1:
            raise OSError(0, "a hard link")
    except BaseException:
        os.close(fd)
        raise
    return fd


def sha256_of(handle: object) -> tuple[str, int]:
    """(hex digest, size) of an open binary file, read in blocks."""
    digest = hashlib.sha256()
    size = 0
    read = handle.read  # type: ignore[attr-defined]
    while True:
        block = read(1 << 20)
        if not block:
            break
        digest.update(block)
        size += len(block)
    return digest.hexdigest(), size
