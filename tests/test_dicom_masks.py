"""Tests of DICOM masks: RTSTRUCT rasterisation and SEG reading.

RTSTRUCT and SEG objects are built with plain pydicom in ``tmp_path``. The scanline
polygon kernel is compared with an obviously-correct NumPy reference (a crossing count
for every pixel centre) on random polygons; the real-data test rasterises the IBSI CT
phantom's GTV-1 and compares it with the published NIfTI mask.
"""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import pack_bits
from pydicom.uid import (
    ExplicitVRLittleEndian,
    RTStructureSetStorage,
    SegmentationStorage,
    generate_uid,
)

from radiomix.errors import (
    DicomSeriesError,
    EmptyRoiError,
    GeometryMismatchError,
    InputError,
    LabelAbsentError,
    UnreadableFileError,
)
from radiomix.io import read_image, read_label_map, read_mask, validate_roi
from radiomix.io.rtstruct import fill_polygon_even_odd, roi_names
from radiomix.io.seg import segment_labels

from conftest import require_data

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


# --- NumPy reference of the polygon kernel --------------------------------------------


def naive_even_odd(columns, rows, shape):
    """Pixel centres inside the polygon by the even-odd crossing count (half-open edges)."""
    inside = np.zeros(shape, dtype=np.uint8)
    n = len(columns)
    for row in range(shape[0]):
        for column in range(shape[1]):
            crossings = 0
            for edge in range(n):
                x0, y0 = columns[edge], rows[edge]
                x1, y1 = columns[(edge + 1) % n], rows[(edge + 1) % n]
                crosses_row = (y0 <= row) != (y1 <= row)
                if crosses_row and column < x0 + (row - y0) * (x1 - x0) / (y1 - y0):
                    crossings += 1
            inside[row, column] = crossings % 2
    return inside


def on_an_edge(columns, rows, shape, tolerance=1e-9):
    """Pixel centres within ``tolerance`` of a polygon edge (their side is a rounding matter)."""
    near = np.zeros(shape, dtype=bool)
    n = len(columns)
    for row in range(shape[0]):
        for column in range(shape[1]):
            point = np.array([column, row], dtype=float)
            for edge in range(n):
                a = np.array([columns[edge], rows[edge]], dtype=float)
                b = np.array([columns[(edge + 1) % n], rows[(edge + 1) % n]], dtype=float)
                length2 = float(np.dot(b - a, b - a))
                t = 0.0 if length2 == 0 else np.clip(np.dot(point - a, b - a) / length2, 0.0, 1.0)
                if np.linalg.norm(point - (a + t * (b - a))) < tolerance:
                    near[row, column] = True
    return near


def kernel(columns, rows, shape):
    return fill_polygon_even_odd(np.asarray(columns, float), np.asarray(rows, float), np.zeros(shape, np.uint8))


coordinate = st.one_of(
    st.integers(-8, 40).map(lambda quarter: quarter / 4.0),
    st.floats(-2.0, 10.0, allow_nan=False, allow_infinity=False),
)


@settings(max_examples=50, deadline=None)
@given(
    vertices=st.lists(st.tuples(coordinate, coordinate), min_size=1, max_size=9),
    shape=st.tuples(st.integers(1, 8), st.integers(1, 8)),
)
def test_kernel_matches_naive_reference(vertices, shape):
    columns = [v[0] for v in vertices]
    rows = [v[1] for v in vertices]
    decided = ~on_an_edge(columns, rows, shape)
    np.testing.assert_array_equal(
        kernel(columns, rows, shape)[decided], naive_even_odd(columns, rows, shape)[decided])


def test_kernel_rectangle_clipped_at_the_border():
    filled = kernel([-3.5, 2.5, 2.5, -3.5], [-1.2, -1.2, 1.5, 1.5], (4, 5))
    expected = np.zeros((4, 5), np.uint8)
    expected[0:2, 0:3] = 1
    np.testing.assert_array_equal(filled, expected)


@pytest.mark.parametrize(("columns", "rows"), [
    ([1.0], [1.0]),
    ([0.0, 3.0], [0.0, 3.0]),
    ([0.0, 1.0, 2.0], [0.0, 1.0, 2.0]),
    ([20.0, 30.0, 25.0], [1.0, 1.0, 3.0]),
], ids=["one-vertex", "two-vertices", "collinear", "outside"])
def test_kernel_degenerate_polygons_fill_nothing(columns, rows):
    assert not kernel(columns, rows, (4, 4)).any()


def test_kernel_toggles_so_overlaps_cancel():
    out = np.zeros((6, 6), np.uint8)
    fill_polygon_even_odd(np.array([0.5, 3.5, 3.5, 0.5]), np.array([0.5, 0.5, 3.5, 3.5]), out)
    fill_polygon_even_odd(np.array([2.5, 5.5, 5.5, 2.5]), np.array([2.5, 2.5, 5.5, 5.5]), out)
    np.testing.assert_array_equal(out, naive_even_odd([0.5, 3.5, 3.5, 0.5], [0.5, 0.5, 3.5, 3.5], (6, 6))
                                  ^ naive_even_odd([2.5, 5.5, 5.5, 2.5], [2.5, 2.5, 5.5, 5.5], (6, 6)))
    assert out[3, 3] == 0 and out[1, 1] == 1 and out[5, 5] == 1


def test_kernel_refuses_bad_arrays():
    with pytest.raises(ValueError, match="same non-zero length"):
        fill_polygon_even_odd(np.zeros(3), np.zeros(4), np.zeros((2, 2), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        fill_polygon_even_odd(np.zeros(3), np.zeros(3), np.zeros((2, 2), np.int32))
    with pytest.raises(ValueError, match="finite"):
        fill_polygon_even_odd(np.array([0.0, np.nan, 1.0]), np.zeros(3), np.zeros((2, 2), np.uint8))


# --- RTSTRUCT -------------------------------------------------------------------------


def reference_grid(direction=None):
    """12 x 10 x 5 voxels of 1 x 1 x 2 mm; voxel (i, j, k) centred at (-5 + i, -4 + j, 10 + 2 k)."""
    image = sitk.Image(12, 10, 5, sitk.sitkInt16)
    image.SetSpacing((1.0, 1.0, 2.0))
    image.SetOrigin((-5.0, -4.0, 10.0))
    if direction is not None:
        image.SetDirection(direction)
    return image


def square(i0, i1, j0, j1, z):
    """A closed contour (patient mm) around voxel indices [i0, i1] x [j0, j1] of the grid."""
    x0, x1 = -5.0 + i0 - 0.5, -5.0 + i1 + 0.5
    y0, y1 = -4.0 + j0 - 0.5, -4.0 + j1 + 0.5
    return np.array([[x0, y0, z], [x1, y0, z], [x1, y1, z], [x0, y1, z]])


def _file_meta(sop_class):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return meta


def write_rtstruct(path, rois):
    """Write an RTSTRUCT; ``rois`` maps ROI name -> list of (geometric type, (n, 3) points in mm)."""
    ds = Dataset()
    ds.file_meta = _file_meta(RTStructureSetStorage)
    ds.SOPClassUID = RTStructureSetStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.Modality = "RTSTRUCT"
    ds.PatientName = "Doe^Jane"
    ds.PatientID = "ID-0042-SECRET"
    ds.SeriesInstanceUID = generate_uid()
    ds.StructureSetROISequence = []
    ds.ROIContourSequence = []
    for number, (name, contours) in enumerate(rois.items(), start=1):
        ds.StructureSetROISequence.append(Dataset())
        ds.StructureSetROISequence[-1].ROINumber = number
        ds.StructureSetROISequence[-1].ROIName = name
        roi_contour = Dataset()
        roi_contour.ReferencedROINumber = number
        roi_contour.ContourSequence = []
        for geometric_type, points in contours:
            contour = Dataset()
            contour.ContourGeometricType = geometric_type
            contour.NumberOfContourPoints = len(points)
            contour.ContourData = [f"{v:.6f}" for v in np.asarray(points, float).ravel()]
            roi_contour.ContourSequence.append(contour)
        ds.ROIContourSequence.append(roi_contour)
    ds.save_as(path, enforce_file_format=True)
    return path


def expected_box(i0, i1, j0, j1, k, shape=(5, 10, 12)):
    box = np.zeros(shape, np.uint8)
    box[k, j0:j1 + 1, i0:i1 + 1] = 1
    return box


def mask_array(image):
    return sitk.GetArrayFromImage(image)


def test_rtstruct_hole_is_excluded_and_gaps_are_not_filled(tmp_path):
    path = write_rtstruct(tmp_path / "rs.dcm", {"GTV": [
        ("CLOSED_PLANAR", square(1, 8, 1, 7, 10.0)),
        ("CLOSED_PLANAR", square(1, 8, 1, 7, 14.0)),
        ("CLOSED_PLANAR", square(3, 5, 3, 4, 14.0)),
    ]})
    mask = read_mask(path, reference=reference_grid(), roi="GTV")
    expected = expected_box(1, 8, 1, 7, 0) + expected_box(1, 8, 1, 7, 2) - expected_box(3, 5, 3, 4, 2)
    np.testing.assert_array_equal(mask_array(mask), expected)
    assert mask.GetPixelID() == sitk.sitkUInt8
    assert not mask_array(mask)[1].any()


def test_rtstruct_disjoint_contours_on_one_slice_are_both_kept(tmp_path):
    path = write_rtstruct(tmp_path / "rs.dcm", {"nodes": [
        ("CLOSED_PLANAR", square(0, 2, 0, 2, 16.3)),
        ("CLOSED_PLANAR", square(6, 11, 5, 9, 16.3)),
    ]})
    mask = mask_array(read_mask(path, reference=reference_grid(), roi="nodes"))
    np.testing.assert_array_equal(mask, expected_box(0, 2, 0, 2, 3) + expected_box(6, 11, 5, 9, 3))


def test_rtstruct_on_a_rotated_grid_matches_point_tests_in_patient_space(tmp_path):
    angle = np.deg2rad(25.0)
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0.0], [np.sin(angle), np.cos(angle), 0.0], [0.0, 0.0, 1.0]])
    reference = reference_grid(direction=tuple(rotation.ravel()))
    slice_z = reference.TransformIndexToPhysicalPoint((0, 0, 2))[2]
    polygon_xy = np.array([[-3.0, -1.0], [4.0, -2.5], [6.5, 5.0], [0.5, 7.5], [-2.0, 3.0]])
    contour = np.column_stack([polygon_xy, np.full(len(polygon_xy), slice_z)])
    path = write_rtstruct(tmp_path / "rs.dcm", {"lesion": [("CLOSED_PLANAR", contour)]})
    mask = mask_array(read_mask(path, reference=reference, roi="lesion"))
    centres = np.array([[reference.TransformIndexToPhysicalPoint((i, j, 2))[:2] for i in range(12)] for j in range(10)])
    # reference: even-odd in patient coordinates, pixel centres as points
    expected = np.zeros((10, 12), np.uint8)
    for j in range(10):
        for i in range(12):
            x, y = centres[j, i]
            inside = False
            for e in range(len(polygon_xy)):
                (x0, y0), (x1, y1) = polygon_xy[e], polygon_xy[(e + 1) % len(polygon_xy)]
                if (y0 <= y) != (y1 <= y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
                    inside = not inside
            expected[j, i] = inside
    assert expected.sum() > 10
    np.testing.assert_array_equal(mask[2], expected)
    assert mask.sum() == expected.sum()


def test_rtstruct_folder_and_roi_names(tmp_path):
    write_rtstruct(tmp_path / "rs.dcm", {"GTV": [("CLOSED_PLANAR", square(1, 3, 1, 3, 12.0))],
                                         "marker": [("POINT", np.array([[0.0, 0.0, 12.0]]))]})
    (tmp_path / "notes.txt").write_text("not DICOM")
    assert roi_names(tmp_path) == {1: "GTV", 2: "marker"}
    mask = mask_array(read_mask(tmp_path, reference=reference_grid(), roi="GTV"))
    np.testing.assert_array_equal(mask, expected_box(1, 3, 1, 3, 1))


def test_rtstruct_wrong_roi_lists_the_names(tmp_path):
    path = write_rtstruct(tmp_path / "rs.dcm", {"GTV-1": [("CLOSED_PLANAR", square(1, 3, 1, 3, 12.0))],
                                                "Lung": [("CLOSED_PLANAR", square(1, 3, 1, 3, 12.0))]})
    with pytest.raises(LabelAbsentError) as raised:
        read_mask(path, reference=reference_grid(), roi="GTV1")
    message = str(raised.value)
    assert str(path) in message and "'GTV-1', 'Lung'" in message and "Did you mean 'GTV-1'" in message
    with pytest.raises(LabelAbsentError, match="needs roi=NAME"):
        read_mask(path, reference=reference_grid())


def test_rtstruct_needs_a_reference(tmp_path):
    path = write_rtstruct(tmp_path / "rs.dcm", {"GTV": [("CLOSED_PLANAR", square(1, 3, 1, 3, 12.0))]})
    with pytest.raises(InputError, match="rs.dcm.*reference="):
        read_mask(path, roi="GTV")


def test_rtstruct_roi_without_closed_contours_is_empty(tmp_path):
    path = write_rtstruct(tmp_path / "rs.dcm", {"marker": [("POINT", np.array([[0.0, 0.0, 12.0]]))]})
    with pytest.raises(EmptyRoiError, match="rs.dcm.*no CLOSED_PLANAR contour.*POINT"):
        read_mask(path, reference=reference_grid(), roi="marker")


@pytest.mark.parametrize(("contours", "message"), [
    ([square(1, 3, 1, 3, 40.0)], "beyond the image's 5 slices"),
    ([square(1, 3, 1, 3, 14.0), square(1, 3, 1, 3, 14.8)], "fall on the same image slice 2"),
    ([np.array([[-4.0, -3.0, 10.0], [2.0, -3.0, 14.0], [2.0, 3.0, 14.0]])], "not parallel to the slices"),
], ids=["outside", "coarse-slices", "tilted"])
def test_rtstruct_contours_off_the_grid_are_refused(tmp_path, contours, message):
    path = write_rtstruct(tmp_path / "rs.dcm", {"GTV": [("CLOSED_PLANAR", c) for c in contours]})
    with pytest.raises(GeometryMismatchError, match=message) as raised:
        read_mask(path, reference=reference_grid(), roi="GTV")
    assert str(path) in str(raised.value)


def test_rtstruct_malformed_contour_is_unreadable(tmp_path):
    path = write_rtstruct(tmp_path / "rs.dcm", {"GTV": [("CLOSED_PLANAR", np.zeros((4, 3)))]})
    dataset = pydicom.dcmread(path)
    dataset.ROIContourSequence[0].ContourSequence[0].ContourData = ["1.0", "2.0", "12.0", "4.0"]
    dataset.save_as(path)
    with pytest.raises(UnreadableFileError, match="rs.dcm.*ROI 'GTV' has 4 coordinates"):
        read_mask(path, reference=reference_grid(), roi="GTV")


def test_folder_with_two_rtstructs_is_refused(tmp_path):
    for name in ("a.dcm", "b.dcm"):
        write_rtstruct(tmp_path / name, {"GTV": [("CLOSED_PLANAR", square(1, 3, 1, 3, 12.0))]})
    with pytest.raises(DicomSeriesError, match="a.dcm.*b.dcm"):
        read_mask(tmp_path, reference=reference_grid(), roi="GTV")


def test_rtstruct_label_map_uses_roi_numbers_and_refuses_overlaps(tmp_path):
    path = write_rtstruct(tmp_path / "rs.dcm", {
        "GTV": [("CLOSED_PLANAR", square(1, 3, 1, 3, 12.0))],
        "marker": [("POINT", np.array([[0.0, 0.0, 12.0]]))],
        "node": [("CLOSED_PLANAR", square(6, 8, 6, 8, 12.0))],
        "CTV": [("CLOSED_PLANAR", square(0, 4, 0, 4, 12.0))],
    })
    labels = mask_array(read_label_map(path, reference=reference_grid(), roi=["GTV", "node"]))
    np.testing.assert_array_equal(labels, expected_box(1, 3, 1, 3, 1) + 3 * expected_box(6, 8, 6, 8, 1))
    with pytest.raises(InputError, match="'CTV' \\(4\\) and 'GTV' \\(1\\) overlap in 9 voxels"):
        read_label_map(path, reference=reference_grid())


def test_ct_phantom_rtstruct_matches_nifti_mask():
    image = read_image(require_data("ibsi/ct_phantom/dicom/image"))
    mask = read_mask(require_data("ibsi/ct_phantom/dicom/rtstruct"), reference=image, roi="GTV-1")
    reference_mask = read_mask(require_data("ibsi/ct_phantom/nifti/mask.nii.gz"), reference=image)
    ours = mask_array(mask).astype(bool)
    theirs = mask_array(reference_mask).astype(bool)
    dice = 2.0 * np.count_nonzero(ours & theirs) / (np.count_nonzero(ours) + np.count_nonzero(theirs))
    assert dice >= 0.99, f"Dice {dice:.5f}"
    assert mask.GetMetaDataKeys() == ()
    assert validate_roi(image, mask, source="DCM_RS_00060.dcm") == np.count_nonzero(ours)


# --- SEG ------------------------------------------------------------------------------


def seg_reference(direction=None):
    """7 x 5 x 4 voxels of 0.5 x 0.5 x 1.5 mm, origin (10, 20, -3)."""
    image = sitk.Image(7, 5, 4, sitk.sitkInt16)
    image.SetSpacing((0.5, 0.5, 1.5))
    image.SetOrigin((10.0, 20.0, -3.0))
    if direction is not None:
        image.SetDirection(direction)
    return image


def write_seg(path, frames, segments, *, orientation=AXIAL, pixel_spacing=(0.5, 0.5), fractional=False):
    """Write a SEG; ``frames`` is a list of (segment number, position mm, 2D array rows x columns)."""
    ds = Dataset()
    ds.file_meta = _file_meta(SegmentationStorage)
    ds.SOPClassUID = SegmentationStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.Modality = "SEG"
    ds.PatientName = "Doe^Jane"
    ds.PatientID = "ID-0042-SECRET"
    ds.SeriesInstanceUID = generate_uid()
    ds.SegmentationType = "FRACTIONAL" if fractional else "BINARY"
    ds.Rows, ds.Columns = frames[0][2].shape
    ds.NumberOfFrames = len(frames)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelRepresentation = 0
    ds.BitsAllocated = ds.BitsStored = 8 if fractional else 1
    ds.HighBit = ds.BitsStored - 1
    if fractional:
        ds.SegmentationFractionalType = "PROBABILITY"
        ds.MaximumFractionalValue = 255
    ds.SegmentSequence = []
    for number, label in segments.items():
        ds.SegmentSequence.append(Dataset())
        ds.SegmentSequence[-1].SegmentNumber = number
        ds.SegmentSequence[-1].SegmentLabel = label
    shared = Dataset()
    shared.PlaneOrientationSequence = [Dataset()]
    shared.PlaneOrientationSequence[0].ImageOrientationPatient = list(orientation)
    shared.PixelMeasuresSequence = [Dataset()]
    shared.PixelMeasuresSequence[0].PixelSpacing = list(pixel_spacing)
    shared.PixelMeasuresSequence[0].SliceThickness = 1.5
    ds.SharedFunctionalGroupsSequence = [shared]
    ds.PerFrameFunctionalGroupsSequence = []
    for number, position, _ in frames:
        frame = Dataset()
        frame.SegmentIdentificationSequence = [Dataset()]
        frame.SegmentIdentificationSequence[0].ReferencedSegmentNumber = number
        frame.PlanePositionSequence = [Dataset()]
        frame.PlanePositionSequence[0].ImagePositionPatient = [f"{v:.6f}" for v in position]
        ds.PerFrameFunctionalGroupsSequence.append(frame)
    pixels = np.stack([array for _, _, array in frames])
    ds.PixelData = pixels.astype(np.uint8).tobytes() if fractional else pack_bits(pixels.astype(np.uint8))
    ds.save_as(path, enforce_file_format=True)
    return path


def _slice_position(k, reference=None):
    return (reference or seg_reference()).TransformIndexToPhysicalPoint((0, 0, k))


@pytest.fixture
def two_segment_seg(tmp_path):
    rng = np.random.default_rng(3)
    liver = rng.random((4, 5, 7)) > 0.5
    tumour = np.zeros((4, 5, 7), bool)
    tumour[2, 1:3, 2:5] = True
    frames = [(1, _slice_position(k), liver[k]) for k in (3, 0, 1, 2)]
    frames += [(2, _slice_position(2), tumour[2])]
    path = write_seg(tmp_path / "seg.dcm", frames, {1: "liver", 2: "tumour"})
    return path, liver, tumour


def test_seg_segments_by_number_and_by_label(two_segment_seg):
    path, liver, tumour = two_segment_seg
    reference = seg_reference()
    assert segment_labels(path) == {1: "liver", 2: "tumour"}
    np.testing.assert_array_equal(mask_array(read_mask(path, reference=reference, label=1)), liver)
    by_number = read_mask(path, reference=reference, label=2)
    assert by_number.GetPixelID() == sitk.sitkUInt8 and by_number.GetMetaDataKeys() == ()
    np.testing.assert_array_equal(mask_array(by_number), tumour)
    np.testing.assert_array_equal(mask_array(read_mask(path.parent, reference=reference, roi="tumour")), tumour)


def test_seg_absent_segment_lists_segments(two_segment_seg):
    path, _, _ = two_segment_seg
    with pytest.raises(LabelAbsentError) as raised:
        read_mask(path, reference=seg_reference(), label=3)
    assert str(path) in str(raised.value) and "1 ('liver'), 2 ('tumour')" in str(raised.value)
    with pytest.raises(LabelAbsentError, match="no segment labelled 'spleen'"):
        read_mask(path, reference=seg_reference(), roi="spleen")


def test_seg_label_map_refuses_overlapping_segments(two_segment_seg):
    path, liver, tumour = two_segment_seg
    overlap = int(np.count_nonzero(liver & tumour))
    with pytest.raises(InputError, match=f"overlap in {overlap} voxels"):
        read_label_map(path, reference=seg_reference())
    np.testing.assert_array_equal(
        mask_array(read_label_map(path, reference=seg_reference(), roi="tumour")), 2 * tumour)


def test_seg_partial_frame_with_flipped_axis(tmp_path):
    reference = seg_reference(direction=(1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, -1.0))
    frame = np.array([[1, 0, 1], [0, 1, 1]], np.uint8)
    position = reference.TransformIndexToPhysicalPoint((2, 1, 3))
    path = write_seg(tmp_path / "seg.dcm", [(1, position, frame)], {1: "lesion"},
                     orientation=(1.0, 0.0, 0.0, 0.0, -1.0, 0.0))
    expected = np.zeros((4, 5, 7), np.uint8)
    expected[3, 1:3, 2:5] = frame
    np.testing.assert_array_equal(mask_array(read_mask(path, reference=reference)), expected)


def test_seg_fractional_is_thresholded_at_half(tmp_path):
    frame = np.zeros((5, 7), np.uint8)
    frame[1, 1], frame[2, 2], frame[3, 3] = 127, 128, 255
    path = write_seg(tmp_path / "seg.dcm", [(1, _slice_position(1), frame)], {1: "p"}, fractional=True)
    mask = mask_array(read_mask(path, reference=seg_reference()))
    assert mask[1, 1, 1] == 0 and mask[1, 2, 2] == 1 and mask[1, 3, 3] == 1 and mask.sum() == 2


@pytest.mark.parametrize(("change", "message"), [
    ({"shift": (0.2, 0.0, 0.0)}, "0.2 mm off the image's voxel centres"),
    ({"pixel_spacing": (0.5, 0.6)}, "row pixel spacing 0.6 mm differs by 0.1 mm"),
    ({"orientation": (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)}, None),
    ({"shift": (0.0, 0.0, 6.0)}, "outside the image"),
], ids=["off-grid", "spacing", "sagittal", "outside"])
def test_seg_off_the_grid_is_a_geometry_mismatch(tmp_path, change, message):
    frame = np.ones((5, 7), np.uint8)
    position = np.add(_slice_position(1), change.get("shift", (0.0, 0.0, 0.0)))
    path = write_seg(tmp_path / "seg.dcm", [(1, position, frame)], {1: "p"},
                     orientation=change.get("orientation", AXIAL),
                     pixel_spacing=change.get("pixel_spacing", (0.5, 0.5)))
    with pytest.raises(GeometryMismatchError) as raised:
        read_mask(path, reference=seg_reference())
    assert str(path) in str(raised.value)
    if message:
        assert message in str(raised.value)


def test_seg_needs_a_reference(two_segment_seg):
    path, _, _ = two_segment_seg
    with pytest.raises(InputError, match="SEG holds no voxel grid"):
        read_mask(path)
