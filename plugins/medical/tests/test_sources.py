"""Study sources: zip members that leave the folder, links and zip bombs are refused."""

from __future__ import annotations

import zipfile

import pytest

from seek.errors import DataError
from seek_medical.sources import Limits, study_files


def test_zip_member_leaving_the_archive_is_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok/IM1.dcm", b"x")
        zf.writestr("../../etc/evil.dcm", b"x")
    with pytest.raises(DataError, match="leaves the archive folder"):
        study_files(archive, Limits())


def test_zip_bomb_is_refused_by_expansion_ratio(tmp_path):
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("IM1.dcm", b"\x00" * (8 << 20))
    with pytest.raises(DataError, match=r"expands \d+x .*zip bomb"):
        study_files(archive, Limits())


def test_zip_symlink_member_is_refused(tmp_path):
    archive = tmp_path / "link.zip"
    info = zipfile.ZipInfo("IM1.dcm")
    info.external_attr = 0o120777 << 16
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(DataError, match="symbolic link"):
        study_files(archive, Limits())


def test_too_many_files_are_refused(tmp_path):
    for i in range(5):
        (tmp_path / f"IM{i}").write_bytes(b"x")
    with pytest.raises(DataError, match="more than 3 files"):
        study_files(tmp_path, Limits(max_files=3))
