"""`seek medical detect` (findings JSON, overlays, DICOM SEG) and `seek data check STUDY --schema medical-nodule`."""

from __future__ import annotations

import json

import pydicom
import pytest
from medical_study import by_z, small_study

from seek_medical import plugin
from seek_medical.simulate import write_study


@pytest.fixture
def harness(seek_plugins):
    seek_plugins.register(plugin, name="medical", distribution="seek-medical")
    return seek_plugins


@pytest.mark.hook("seek_commands")
def test_data_check_reads_a_study_folder_and_names_a_damaged_file(harness, study):
    _, folder, files = study
    result = harness.invoke("data", "check", str(folder), "--schema", "medical-nodule", "--no-progress")
    assert result.exit_code == 0, result.output
    assert "spacing x, y, z (mm)" in result.output and "0.8, 0.8, 1.25" in result.output
    by_z(files)[6].unlink()
    result = harness.invoke("data", "check", str(folder), "--schema", "medical-nodule", "--no-progress")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error: ") and "missing slices" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.slow
@pytest.mark.hook("seek_commands")
def test_detect_writes_findings_overlays_and_a_seg_referencing_the_series(harness, tmp_path):
    study = small_study(seed=11, nodules=(2, 2))
    folder = tmp_path / "study"
    write_study(study, folder)
    out = tmp_path / "out"
    result = harness.invoke("medical", "detect", str(folder), "--out", str(out), "--seg")
    assert result.exit_code == 0, result.output
    document = json.loads((out / "findings.json").read_text())
    assert document["series_instance_uid"] == study.uids["series"]
    assert (out / "findings.png").stat().st_size > 1000
    sops = {pydicom.dcmread(f, stop_before_pixels=True).SOPInstanceUID for f in folder.glob("*.dcm")}
    for finding in document["findings"]:
        assert finding["sop_instance_uid"] in sops
        assert {"centre_mm", "centre_voxel", "diameter_mm", "volume_mm3", "probability"} <= set(finding)
    if document["findings"]:
        seg = pydicom.dcmread(out / "seg.dcm")
        assert seg.Modality == "SEG"
        assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == study.uids["series"]
        assert len(seg.SegmentSequence) == len(document["findings"])


def test_detect_on_a_missing_study_is_one_line(harness, tmp_path):
    bad = tmp_path / "notdicom"
    bad.mkdir()
    (bad / "IM1").write_bytes(b"\x00" * 200)
    result = harness.invoke("medical", "detect", str(bad))
    assert result.exit_code == 1 and "IM1: not a DICOM file" in result.stderr and "Traceback" not in result.output
