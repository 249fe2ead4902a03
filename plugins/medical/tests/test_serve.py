"""The predictor serving and async jobs call: a study folder or zip path in, findings out."""

from __future__ import annotations

import shutil

import pytest
from medical_study import small_study

from seek.errors import DataError
from seek_medical.serve import NodulePredictor
from seek_medical.simulate import write_study


@pytest.mark.slow
def test_shipped_predictor_answers_a_zip_and_a_folder(tmp_path):
    study = small_study(seed=11)
    folder = tmp_path / "study"
    write_study(study, folder)
    archive = shutil.make_archive(str(tmp_path / "study"), "zip", folder)
    predictor = NodulePredictor.shipped()
    answers = predictor.predict([{"study": str(folder)}, {"study": archive}])
    assert [a["series_instance_uid"] for a in answers] == [study.uids["series"]] * 2
    assert answers[0]["findings"] == answers[1]["findings"]


def test_a_record_without_a_study_path_is_a_data_error():
    predictor = NodulePredictor(model=None, settings=None, source="none")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="record 0: field 'study'"):
        predictor.predict([{"path": "x"}])
