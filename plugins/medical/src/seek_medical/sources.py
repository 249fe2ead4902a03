"""Where a study's files come from: a folder, a zip or a list of files, with limits a hostile archive cannot pass.

Every source yields ``(name, data)`` pairs lazily: ``data`` is a path (read by pydicom when needed) or
the bytes of a zip member. Zip members are checked before anything is extracted: no absolute paths,
no ``..``, no links, a bounded expansion ratio and a bounded total size.
"""

from __future__ import annotations

import os
import stat
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from seek.errors import DataError


@dataclass(frozen=True)
class Limits:
    """Bounds on what one study may hold, checked from headers before any pixel buffer is allocated."""

    max_files: int = 10_000
    max_rows: int = 4096
    max_columns: int = 4096
    max_slices: int = 4096
    #: 512 x 512 x 2048 voxels: 1 GiB as int16.
    max_voxels: int = 512 * 512 * 2048
    max_file_bytes: int = 64 << 20
    max_total_bytes: int = 8 << 30
    #: Uncompressed / compressed size of one zip member; CT slices deflate by 2-4x, bombs by 1000x.
    max_zip_ratio: float = 100.0


StudyFile = tuple[str, "Path | bytes"]
#: Files archives carry beside the images (viewers, indexes, notes, our ground truth): not part of the series.
SIDE_FILES = frozenset(
    {
        ".json",
        ".txt",
        ".xml",
        ".html",
        ".htm",
        ".pdf",
        ".md",
        ".csv",
        ".ini",
        ".inf",
        ".exe",
        ".bat",
        ".sh",
        ".png",
        ".jpg",
        ".jpeg",
        ".js",
        ".css",
    }
)


def side_file(name: str) -> bool:
    """A hidden file or a known non-image companion (README.txt, index.html, ground_truth.json)."""
    path = PurePosixPath(name.replace("\\", "/"))
    return path.name.startswith(".") or path.suffix.lower() in SIDE_FILES or "__MACOSX" in path.parts


def study_files(source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], limits: Limits) -> list[StudyFile]:
    """The files of a study given as a folder, a ``.zip`` or a list of file paths."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise DataError(f"{path}: not found")
        if path.is_dir():
            return _folder(path, limits)
        if zipfile.is_zipfile(path):
            return list(_zip(path, limits))
        return [(str(path), path)]
    files = [Path(p) for p in source]
    if not files:
        raise DataError("no DICOM files given")
    if len(files) > limits.max_files:
        raise DataError(f"{len(files)} files given; at most {limits.max_files} per study")
    for file in files:
        if not file.is_file():
            raise DataError(f"{file}: not found or not a file")
    return [(str(f), f) for f in files]


def _folder(root: Path, limits: Limits) -> list[StudyFile]:
    found: list[StudyFile] = []
    resolved_root = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if side_file(name) or (path.is_symlink() and not path.resolve().is_relative_to(resolved_root)):
                continue  # companions (README.txt, .DS_Store) and links leaving the folder are not part of the study
            if path.stat().st_size > limits.max_file_bytes:
                raise DataError(f"{path}: {path.stat().st_size:,} bytes, more than one slice may hold")
            found.append((str(path), path))
            if len(found) > limits.max_files:
                raise DataError(f"{root}: more than {limits.max_files} files; at most that many per study")
    if not found:
        raise DataError(f"{root}: the folder holds no files")
    return found


def _zip(path: Path, limits: Limits) -> Iterator[StudyFile]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{path}: not a readable zip ({exc})") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) > limits.max_files:
            raise DataError(f"{path}: {len(members)} members; at most {limits.max_files} per study")
        total = 0
        for member in members:
            check_member(path, member, limits)
            total += member.file_size
            if total > limits.max_total_bytes:
                raise DataError(f"{path}: members expand to more than {limits.max_total_bytes:,} bytes")
        for member in members:
            if side_file(member.filename):
                continue
            try:
                data = archive.read(member)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise DataError(f"{path}!{member.filename}: cannot be read from the zip ({exc})") from None
            # the header's sizes are checked above; a member that inflates past them is a lie
            if len(data) != member.file_size:
                raise DataError(
                    f"{path}!{member.filename}: inflates to {len(data)} bytes, header says {member.file_size}"
                )
            yield f"{path}!{member.filename}", data


def check_member(path: Path, member: zipfile.ZipInfo, limits: Limits) -> None:
    """Refuse a zip member that leaves the archive folder, is a link, or expands too much."""
    name = member.filename.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or ".." in parts or (parts and len(parts[0]) == 2 and parts[0][1] == ":"):
        raise DataError(f"{path}: member {member.filename!r} leaves the archive folder (path traversal)")
    mode = member.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise DataError(f"{path}: member {member.filename!r} is a symbolic link")
    if member.file_size > limits.max_file_bytes:
        raise DataError(f"{path}: member {member.filename!r} expands to {member.file_size:,} bytes (too large)")
    ratio = member.file_size / max(member.compress_size, 1)
    if member.file_size > 1 << 16 and ratio > limits.max_zip_ratio:
        raise DataError(
            f"{path}: member {member.filename!r} expands {ratio:.0f}x (limit {limits.max_zip_ratio:.0f}x): "
            "refused as a possible zip bomb"
        )
