"""The DICOM reader against SimpleITK and against every damaged file a real archive holds."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from medical_study import by_z, rewrite, small_study

from seek.errors import DataError
from seek_medical.dicom import list_series, read_series
from seek_medical.simulate import write_study
from seek_medical.sources import Limits


def _sitk(folder: Path) -> sitk.Image:
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    return reader.Execute()


def test_shuffled_files_numbered_against_z_load_like_simpleitk(study):
    _simulated, folder, files = study
    numbers = {int(pydicom.dcmread(f, stop_before_pixels=True).InstanceNumber) for f in by_z(files)[:1]}
    assert numbers == {len(files)}, "the lowest slice carries the highest InstanceNumber"
    volume = read_series(folder)
    image = _sitk(folder)
    assert np.array_equal(volume.hu, sitk.GetArrayFromImage(image))
    assert np.allclose(volume.spacing, image.GetSpacing())
    assert np.allclose(volume.origin, image.GetOrigin())
    assert np.allclose(volume.direction.flatten(), image.GetDirection())
    assert any("against z" in note for note in volume.notes)


def test_a_list_of_files_and_a_zip_give_the_same_volume(study, tmp_path):
    _, folder, files = study
    reference = read_series(folder)
    shuffled = [files[i] for i in np.random.default_rng(1).permutation(len(files))]
    assert np.array_equal(read_series(shuffled).hu, reference.hu)
    archive = shutil.make_archive(str(tmp_path / "study"), "zip", folder)
    from_zip = read_series(archive)
    assert np.array_equal(from_zip.hu, reference.hu) and from_zip.sop_uids == reference.sop_uids


def test_known_nodule_hu_and_world_coordinates_round_trip_exactly(study):
    simulated, folder, _ = study
    volume = read_series(folder)
    assert np.array_equal(volume.hu, simulated.hu)  # stored value * slope + intercept = the simulator's HU
    nodule = simulated.ground_truth()["nodules"][0]
    world = volume.index_to_world(nodule["centre_voxel"])
    assert np.allclose(world, nodule["centre"], atol=1e-5)
    assert np.allclose(volume.world_to_index(nodule["centre"]), nodule["centre_voxel"], atol=1e-6)
    i, j, k = (round(v) for v in nodule["centre_voxel"])
    assert volume.hu[k, j, i] == simulated.hu[k, j, i]
    assert (simulated.labels[k, j, i]) == nodule["label"]


def test_rescale_slope_and_intercept_give_hu(study):
    simulated, folder, files = study
    for path in files:
        ds = pydicom.dcmread(path)
        stored = ds.pixel_array.astype(np.int32)
        ds.PixelData = (stored // 2).astype(np.uint16).tobytes()
        ds.RescaleSlope, ds.RescaleIntercept = "2", "-1024"
        ds.save_as(path)
    volume = read_series(folder)
    expected = ((simulated.hu.astype(np.int32) + 1024) // 2) * 2 - 1024
    assert np.array_equal(volume.hu, expected)


def test_missing_slice_is_a_gap_error(study):
    _, folder, files = study
    ordered = by_z(files)
    ordered[5].unlink()
    with pytest.raises(DataError, match=r"missing slices: a gap of 2\.50 mm .* 1\.25 mm apart"):
        read_series(folder)


def test_uneven_spacing_is_resampled_and_noted(study):
    simulated, folder, files = study
    ordered = by_z(files)
    z = float(pydicom.dcmread(ordered[4]).ImagePositionPatient[2])
    position = list(pydicom.dcmread(ordered[4]).ImagePositionPatient)
    rewrite(ordered[4], ImagePositionPatient=[position[0], position[1], f"{z + 0.3:.6f}"])
    volume = read_series(folder)
    assert volume.shape == simulated.hu.shape and volume.spacing[2] == pytest.approx(1.25)
    assert any("uneven slice spacing" in note for note in volume.notes)


def test_gantry_tilt_tag_is_an_error(study):
    _, folder, files = study
    for path in files:
        rewrite(path, GantryDetectorTilt="15")
    with pytest.raises(DataError, match="gantry tilt of 15 degrees"):
        read_series(folder)


def test_slice_origins_drifting_sideways_are_a_tilt_error(study):
    _, folder, files = study
    for path in files:
        position = [float(v) for v in pydicom.dcmread(path).ImagePositionPatient]
        rewrite(path, ImagePositionPatient=[position[0], position[1] + 0.18 * position[2], position[2]])
    with pytest.raises(DataError, match=r"gantry tilt of 10\.\d+ degrees"):
        read_series(folder)


def test_mixed_orientations_are_an_error(study):
    _, folder, files = study
    rewrite(files[3], ImageOrientationPatient=["1", "0", "0", "0", "0", "-1"])
    with pytest.raises(DataError, match="mixed orientations in one series"):
        read_series(folder)


def test_duplicated_position_is_an_error_but_a_copied_file_is_dropped(study):
    _, folder, files = study
    shutil.copy(files[2], folder / "copy-of-a-slice.dcm")
    assert read_series(folder).shape[0] == len(files)
    rewrite(folder / "copy-of-a-slice.dcm", SOPInstanceUID="2.25.99")
    with pytest.raises(DataError, match="duplicated slice position"):
        read_series(folder)


def test_truncated_file_is_named(study):
    _, folder, files = study
    data = files[4].read_bytes()
    files[4].write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=rf"{files[4].name}: truncated"):
        read_series(folder)


def test_non_dicom_file_is_named_and_side_files_are_skipped(study):
    _, folder, _ = study
    (folder / "README.txt").write_text("not an image")
    read_series(folder)
    (folder / "IM99999").write_bytes(b"\x00" * 300 + b"garbage")
    with pytest.raises(DataError, match="IM99999: not a DICOM file"):
        read_series(folder)


def test_missing_pixel_data_is_named(study):
    _, folder, files = study
    rewrite(files[1], PixelData=None)
    with pytest.raises(DataError, match=rf"{files[1].name}: missing pixel data"):
        read_series(folder)


def test_inconsistent_rows_and_columns_are_an_error(study):
    _, folder, files = study
    ds = pydicom.dcmread(files[6])
    ds.PixelData = ds.pixel_array[:70, :70].copy().tobytes()
    ds.Rows = ds.Columns = 70
    ds.save_as(files[6])
    with pytest.raises(DataError, match="70 x 70 pixels, but .* has 80 x 80 in the same series"):
        read_series(folder)


def test_non_ct_modality_and_single_slice_are_errors(study, tmp_path):
    _, folder, files = study
    single = tmp_path / "single"
    single.mkdir()
    shutil.copy(files[0], single / files[0].name)
    with pytest.raises(DataError, match="a single slice"):
        read_series(single)
    for path in files:
        rewrite(path, Modality="MR")
    with pytest.raises(DataError, match="modality is MR, not CT"):
        read_series(folder)


def test_compressed_file_without_its_decoder_names_the_syntax_and_the_extra(study):
    from pydicom.encaps import encapsulate
    from pydicom.pixels import get_decoder
    from pydicom.uid import HTJ2KLossless, JPEGLosslessSV1

    missing = [uid for uid in (JPEGLosslessSV1, HTJ2KLossless) if not get_decoder(uid).is_available]
    if not missing:
        pytest.skip("every candidate decoder is installed here")
    _, folder, files = study
    ds = pydicom.dcmread(files[0])
    ds.file_meta.TransferSyntaxUID = missing[0]
    ds.PixelData = encapsulate([b"\xff\xd8" + b"\x00" * 64 + b"\xff\xd9"])
    ds["PixelData"].VR = "OB"
    ds.save_as(files[0], enforce_file_format=True)
    with pytest.raises(DataError) as error:
        read_series(folder)
    message = str(error.value)
    assert missing[0].name in message and str(missing[0]) in message
    assert "pip install 'seek-medical[decoders]'" in message and "\n" not in message


def test_rle_compressed_series_loads_where_the_decoder_is_installed(study):
    from pydicom.uid import RLELossless

    simulated, folder, files = study
    for path in files:
        ds = pydicom.dcmread(path)
        ds.compress(RLELossless)
        ds.save_as(path)
    assert np.array_equal(read_series(folder).hu, simulated.hu)


def test_volume_size_limit_refuses_before_reading_pixels(study):
    _, folder, _ = study
    with pytest.raises(DataError, match="at most 10,000"):
        read_series(folder, limits=Limits(max_voxels=10_000))
    with pytest.raises(DataError, match="80 x 80 pixels; at most 64 x 64"):
        read_series(folder, limits=Limits(max_rows=64, max_columns=64))


def test_several_ct_series_are_listed_and_one_is_picked_with_series(tmp_path):
    first, second = small_study(5), small_study(6)
    write_study(first, tmp_path / "s" / "a")
    write_study(second, tmp_path / "s" / "b")
    found = list_series(tmp_path / "s")
    assert {s.uid for s in found} == {first.uids["series"], second.uids["series"]}
    with pytest.raises(DataError, match="2 CT series, pick one with --series UID"):
        read_series(tmp_path / "s")
    assert np.array_equal(read_series(tmp_path / "s", series=second.uids["series"]).hu, second.hu)
    with pytest.raises(DataError, match="no series '1.2.3'"):
        read_series(tmp_path / "s", series="1.2.3")
