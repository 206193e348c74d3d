"""A spec's ``filters:`` adds filtered image types to ``extract_features``."""

import numpy as np
import pytest
import SimpleITK as sitk

import radiomix
from radiomix.errors import SpecError
from radiomix.preprocess.filters import filter_image
from radiomix.spec import load_spec


def _case(tmp_path):
    rng = np.random.default_rng(3)
    array = rng.normal(40, 30, (12, 20, 22)).round()
    mask = np.zeros(array.shape, np.uint8)
    mask[3:9, 5:15, 6:16] = 1
    array[4, 6, 7] = 900  # removed by the re-segmentation range
    paths = []
    for name, data in (("image.nii.gz", array), ("mask.nii.gz", mask)):
        image = sitk.GetImageFromArray(data)
        image.SetSpacing((1.2, 1.2, 2.5))
        sitk.WriteImage(image, str(tmp_path / name))
        paths.append(str(tmp_path / name))
    return paths, array, mask.astype(bool)


def test_filtered_statistics_are_those_of_the_response_map_in_the_resegmented_roi(tmp_path):
    (image, mask), array, roi = _case(tmp_path)
    spec = {"resegmentation": {"range": [-200, 400]}, "features": {"statistics": {}},
            "filters": [{"mean": {"support": 3, "dimensions": "3D", "boundary_condition": "mirror"}},
                        {"log": {"sigma_mm": 2.0, "dimensions": "3D", "boundary_condition": "nearest"}}]}
    table = radiomix.extract_features(image, mask, spec)
    settings = load_spec(spec)
    names = table["image_type"].unique().tolist()
    assert names[0] == "original" and len(names) == 3
    kept = roi & (array >= -200) & (array <= 400)
    for filter_settings, name in zip(settings.filters, names[1:]):
        response = sitk.GetArrayFromImage(filter_image(image, filter_settings))
        rows = table[table["image_type"] == name].set_index("name")["value"]
        assert rows["Mean intensity"] == pytest.approx(response[kept].mean(), rel=1e-9)
        assert rows["Maximum intensity"] == pytest.approx(response[kept].max(), rel=1e-9)
        assert all(feature.startswith(name + "_statistics_") for feature in
                   table[table["image_type"] == name]["feature"])


def test_filter_spec_errors_suggest_the_right_name():
    with pytest.raises(SpecError, match="did you mean"):
        load_spec({"filters": [{"gabr": {}}]})


def test_specs_without_filters_keep_their_hash():
    spec = load_spec({})
    assert "filters" not in spec.to_dict()
    assert load_spec({"filters": []}).content_hash() == spec.content_hash()
