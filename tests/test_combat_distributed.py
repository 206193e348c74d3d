"""Distributed ComBat equals ComBat on the pooled table; site files hold aggregates only."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import radiomix
from radiomix.harmonize import ComBat
from radiomix.harmonize.distributed import (
    RESIDUAL_BATCH_FIELDS,
    RESIDUAL_STATISTICS_FIELDS,
    SITE_BATCH_FIELDS,
    SITE_GROUP_FIELDS,
    SITE_STATISTICS_FIELDS,
    DistributedSettings,
    IncompatibleFilesError,
    TooFewPatientsError,
    apply_harmonizer,
    combine_residual_statistics,
    combine_site_statistics,
    read_protocol_file,
    residual_statistics,
    site_statistics,
    write_protocol_file,
)

#: parametric, eb, mean_only, covariates (age + categorical sex), reference batch
OPTIONS = list(itertools.product([True, False], [True, False], [False, True], [False, True], [False, True]))
OPTION_IDS = [f"param={p}-eb={e}-mean_only={m}-cov={c}-ref={r}" for p, e, m, c, r in OPTIONS]


def make_table(rng: np.random.Generator, n_batches: int, n_features: int = 9, min_size: int = 10,
               max_size: int = 22) -> pd.DataFrame:
    """Patients of several batches with batch location/scale effects, an age and a sex effect.

    Every batch holds at least 5 patients of each sex (the site files' level rule).
    """
    frames = []
    for k in range(n_batches):
        size = int(rng.integers(min_size, max_size + 1))
        sex = np.array(["F"] * 5 + ["M"] * 5 + list(rng.choice(["F", "M"], size - 10)))
        age = rng.normal(62, 9, size)
        base = rng.normal(size=(size, n_features)) * rng.uniform(0.5, 3, n_features)
        values = (base * rng.uniform(0.6, 1.6, n_features) + rng.normal(0, 1.5, n_features)
                  + np.outer(age - 60, rng.normal(0, 0.05, n_features))
                  + np.outer(sex == "M", rng.normal(0, 0.8, n_features)) + rng.normal(10, 4, n_features))
        frame = pd.DataFrame(values, columns=[f"CT__f{j}" for j in range(n_features)])
        frame.insert(0, "sex", sex)
        frame.insert(0, "age", age)
        frame.insert(0, "batch", f"scanner_{k}")
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    table.insert(0, "patient_id", [f"P{i:04d}" for i in range(len(table))])
    return table


def split_into_sites(table: pd.DataFrame, n_sites: int, rng: np.random.Generator) -> list[pd.DataFrame]:
    """Whole batches to sites, each site at least one batch."""
    batches = sorted(table["batch"].unique())
    owner = np.concatenate([np.arange(n_sites), rng.integers(0, n_sites, len(batches) - n_sites)])
    rng.shuffle(owner)
    return [table[table["batch"].isin([b for b, o in zip(batches, owner) if o == s])].reset_index(drop=True)
            for s in range(n_sites)]


def only_named(table: pd.DataFrame, settings_: DistributedSettings) -> pd.DataFrame:
    """``table`` without the covariate columns the settings do not name (they would be features)."""
    named = {*settings_.covariates, *settings_.categorical}
    return table.drop(columns=[c for c in ("age", "sex") if c not in named and c in table.columns])


def run_protocol(sites, settings_, ref_batch=None, through_files=None):
    """The two rounds and the application; returns (harmonizer, harmonized sites)."""
    sites = [only_named(site, settings_) for site in sites]
    stats = [site_statistics(site, settings_) for site in sites]
    if through_files is not None:
        paths = []
        for i, content in enumerate(stats):
            write_protocol_file(content, through_files / f"stats_{i}.json")
            paths.append(through_files / f"stats_{i}.json")
        stats = paths
    regression = combine_site_statistics(stats, ref_batch=ref_batch)
    residuals = [residual_statistics(site, regression) for site in sites]
    harmonizer = combine_residual_statistics(residuals, regression)
    return harmonizer, [apply_harmonizer(site, harmonizer) for site in sites]


def pooled_combat(table, settings_, ref_batch=None):
    model = ComBat("batch", covariate_cols=list(settings_.covariates) + list(settings_.categorical),
                   categorical_cols=list(settings_.categorical), parametric=settings_.parametric,
                   eb=settings_.eb, mean_only=settings_.mean_only, ref_batch=ref_batch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        harmonized = model.fit_transform(table.drop(columns="patient_id"))
    return model, harmonized


def assert_close(actual, expected, what):
    """|actual - expected| <= 1e-10 x the largest |expected| of the array (relative to its scale)."""
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    if expected.size == 0:   # no covariate: JSON keeps [] for a 0 x n_features array
        assert actual.size == 0, what
        return
    assert actual.shape == expected.shape, what
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected), err_msg=what)
    scale = max(np.nanmax(np.abs(expected)), 1e-300)
    error = np.nanmax(np.abs(actual - expected)) / scale
    assert error <= 1e-10, f"{what}: relative error {error:.2e}"


def assert_equal_to_pooled(table, sites, settings_, ref_batch=None, through_files=None):
    table = only_named(table, settings_)
    harmonizer, harmonized_sites = run_protocol(sites, settings_, ref_batch, through_files)
    model, pooled = pooled_combat(table, settings_, ref_batch)
    assert harmonizer["batches"] == list(model.batches_)
    assert harmonizer["covariate_names"] == list(model.covariate_names_)
    for name in ("grand_mean", "covariate_coef", "pooled_std", "gamma_hat", "delta_hat", "gamma_star",
                 "delta_star"):
        assert_close(harmonizer[name], getattr(model, f"{name}_"), name)
    assert harmonizer["zero_variance_features"] == list(model.zero_variance_features_)
    distributed = pd.concat(harmonized_sites).set_index("patient_id").loc[table["patient_id"]]
    features = [c for c in table.columns if c.startswith("CT__")]
    for feature in features:
        assert_close(distributed[feature], pooled[feature], f"harmonized {feature}")
    untouched = ["batch", *settings_.covariates, *settings_.categorical]
    pd.testing.assert_frame_equal(distributed[untouched].reset_index(drop=True),
                                  table[untouched].reset_index(drop=True))


def settings_for(parametric, eb, mean_only, covariates):
    return DistributedSettings("batch", covariates=("age",) if covariates else (),
                               categorical=("sex",) if covariates else (), parametric=parametric, eb=eb,
                               mean_only=mean_only)


@pytest.mark.parametrize(("parametric", "eb", "mean_only", "covariates", "reference"), OPTIONS, ids=OPTION_IDS)
def test_distributed_equals_pooled_for_every_option_set(parametric, eb, mean_only, covariates, reference):
    rng = np.random.default_rng(OPTIONS.index((parametric, eb, mean_only, covariates, reference)))
    table = make_table(rng, n_batches=4)
    sites = split_into_sites(table, 3, rng)
    ref_batch = "scanner_2" if reference else None
    assert_equal_to_pooled(table, sites, settings_for(parametric, eb, mean_only, covariates), ref_batch)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n_sites=st.integers(2, 5), extra_batches=st.integers(0, 2),
       option=st.sampled_from(OPTIONS))
def test_distributed_equals_pooled_on_random_splits(seed, n_sites, extra_batches, option):
    rng = np.random.default_rng(seed)
    table = make_table(rng, n_batches=n_sites + extra_batches, n_features=int(rng.integers(2, 12)))
    sites = split_into_sites(table, n_sites, rng)
    parametric, eb, mean_only, covariates, reference = option
    ref_batch = str(rng.choice(sorted(table["batch"].unique()))) if reference else None
    assert_equal_to_pooled(table, sites, settings_for(parametric, eb, mean_only, covariates), ref_batch)


def test_a_batch_shared_by_two_sites_is_merged_exactly(tmp_path):
    rng = np.random.default_rng(7)
    table = make_table(rng, n_batches=3, min_size=20, max_size=24)
    shared = table[table["batch"] == "scanner_1"]
    first, second = shared.iloc[: len(shared) // 2], shared.iloc[len(shared) // 2:]
    sites = [pd.concat([table[table["batch"] == "scanner_0"], first]),
             pd.concat([table[table["batch"] == "scanner_2"], second])]
    for parametric in (True, False):
        assert_equal_to_pooled(table, sites, DistributedSettings("batch", covariates=("age",),
                                                                 parametric=parametric), through_files=tmp_path)


def test_a_feature_explained_by_the_covariates_is_found_as_in_the_pooled_fit():
    rng = np.random.default_rng(3)
    table = make_table(rng, n_batches=3)
    table["CT__f0"] = 2.5 * table["age"] - 4.0
    sites = split_into_sites(table, 2, rng)
    settings_ = settings_for(True, True, False, True)
    assert_equal_to_pooled(table, sites, settings_)
    harmonizer, _ = run_protocol(sites, settings_)
    assert harmonizer["zero_variance_features"] == ["CT__f0"]


def numbers_in(value):
    """Every number of a JSON document."""
    if isinstance(value, dict):
        for item in value.values():
            yield from numbers_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from numbers_in(item)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield value


def test_site_files_hold_only_aggregates(tmp_path):
    rng = np.random.default_rng(11)
    table = make_table(rng, n_batches=2, n_features=5)
    settings_ = settings_for(True, True, False, True)
    write_protocol_file(site_statistics(table, settings_), tmp_path / "stats.json")
    content = read_protocol_file(tmp_path / "stats.json")
    assert set(content) == set(SITE_STATISTICS_FIELDS)
    assert content["schema_version"] == 1 and content["radiomix_version"] == radiomix.__version__
    n_features, n_covariates = 5, 3   # age, sex=F, sex=M
    for entry in content["batches"]:
        assert set(entry) == set(SITE_BATCH_FIELDS)
        assert entry["n"] >= content["min_patients"] == 5
        assert entry["feature_count"] == [entry["n"]] * n_features
        (group,) = entry["groups"]   # complete features: one group of patients
        assert set(group) == set(SITE_GROUP_FIELDS)
        assert group["features"] == list(range(n_features)) and group["n"] == entry["n"]
        assert np.shape(group["covariate_mean"]) == (n_covariates,)
        assert np.shape(group["covariate_cross_products"]) == (n_covariates, n_covariates)
        assert np.shape(entry["feature_mean"]) == (n_features,)
        assert np.shape(entry["covariate_feature_cross_products"]) == (n_covariates, n_features)
        assert np.shape(entry["feature_sum_squares"]) == (n_features,)
    text = (tmp_path / "stats.json").read_text()
    for patient in table["patient_id"]:
        assert patient not in text
    row_values = set(table.filter(like="CT__").to_numpy().ravel().tolist() + table["age"].tolist())
    assert not set(numbers_in(content)) & row_values

    regression = combine_site_statistics([content])
    round_two = residual_statistics(table, regression)
    assert set(round_two) == set(RESIDUAL_STATISTICS_FIELDS)
    assert all(set(entry) == set(RESIDUAL_BATCH_FIELDS) for entry in round_two["batches"])


def test_a_four_patient_site_is_refused():
    rng = np.random.default_rng(1)
    table = make_table(rng, n_batches=1).iloc[:4].drop(columns="sex")
    with pytest.raises(TooFewPatientsError, match="4 patient.*minimum of 5"):
        site_statistics(table, DistributedSettings("batch"))
    assert site_statistics(table, DistributedSettings("batch"), min_patients=4)["n_patients"] == 4


def test_a_small_batch_or_level_is_refused_and_the_coordinator_checks_too():
    rng = np.random.default_rng(2)
    table = make_table(rng, n_batches=2)
    small_batch = pd.concat([table, table.iloc[:3].assign(batch="scanner_9")]).drop(columns="sex")
    with pytest.raises(TooFewPatientsError, match="batch 'scanner_9' has 3"):
        site_statistics(small_batch, DistributedSettings("batch"))
    rare_level = table.copy()
    rare_level.loc[0, "sex"] = "X"
    with pytest.raises(TooFewPatientsError, match="level.*'X'.*'sex'"):
        site_statistics(rare_level, DistributedSettings("batch", categorical=("sex",)))
    lenient = site_statistics(small_batch, DistributedSettings("batch"), min_patients=3)
    with pytest.raises(TooFewPatientsError, match="minimum of 5"):
        combine_site_statistics([lenient])


def test_mismatched_feature_sets_settings_and_versions_are_refused():
    rng = np.random.default_rng(4)
    table = make_table(rng, n_batches=2)
    a, b = split_into_sites(table, 2, rng)
    settings_ = DistributedSettings("batch", covariates=("age",), categorical=("sex",))
    stats_a = site_statistics(a, settings_)
    with pytest.raises(IncompatibleFilesError, match="feature names differ.*CT__f8"):
        combine_site_statistics([stats_a, site_statistics(b.drop(columns="CT__f8"), settings_)])
    with pytest.raises(IncompatibleFilesError, match="settings differ.*eb: True.*False"):
        combine_site_statistics([stats_a, site_statistics(b, DistributedSettings("batch", covariates=("age",),
                                                                                 categorical=("sex",), eb=False))])
    with pytest.raises(IncompatibleFilesError, match="radiomix '0.0.1'"):
        combine_site_statistics([stats_a, {**site_statistics(b, settings_), "radiomix_version": "0.0.1"}])
    regression = combine_site_statistics([stats_a, site_statistics(b, settings_)])
    with pytest.raises(IncompatibleFilesError, match="is a 'pooled_regression' file"):
        combine_site_statistics([regression])
    changed = residual_statistics(a.iloc[:-1], regression)
    with pytest.raises(IncompatibleFilesError, match="in round 1"):
        combine_residual_statistics([changed, residual_statistics(b, regression)], regression)
    with pytest.raises(IncompatibleFilesError, match="missing \\['CT__f8'\\]"):
        apply_harmonizer(a.drop(columns="CT__f8"), combine_residual_statistics(
            [residual_statistics(s, regression) for s in (a, b)], regression))


def test_a_rare_pattern_of_missing_features_is_refused_and_values_stay_missing_at_apply():
    rng = np.random.default_rng(5)
    table = make_table(rng, n_batches=2).drop(columns=["sex", "age"])
    holes = table.copy()
    holes.loc[3, "CT__f2"] = np.nan
    settings_ = DistributedSettings("batch")
    with pytest.raises(TooFewPatientsError, match="P0003.*miss exactly.*CT__f2.*held by 1 patient"):
        site_statistics(holes, settings_)
    empty_row = table.copy()
    empty_row.loc[3, [c for c in table.columns if c not in ("patient_id", "batch")]] = np.nan
    assert site_statistics(empty_row, settings_)["n_patients"] == len(table) - 1
    harmonizer, _ = run_protocol([table], settings_)
    harmonized = apply_harmonizer(holes, harmonizer)
    assert np.isnan(harmonized.loc[3, "CT__f2"]) and np.isfinite(harmonized.loc[3, "CT__f1"])
    with pytest.raises(IncompatibleFilesError, match="scanner_7.*not known"):
        apply_harmonizer(table.assign(batch="scanner_7"), harmonizer)


def with_missing_blocks(table: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Blocks of missing features (e.g. a modality not acquired) on the first 10 patients of some batches."""
    table = table.copy()
    features = [c for c in table.columns if c.startswith("CT__")]
    for rows in table.groupby("batch").groups.values():
        if rng.uniform() < 0.3:
            continue
        block = rng.choice(features, size=int(rng.integers(1, len(features))), replace=False)
        table.loc[rows[:10], block] = np.nan
    return table


@pytest.mark.parametrize(("parametric", "eb", "mean_only", "covariates", "reference"), OPTIONS, ids=OPTION_IDS)
def test_missing_feature_blocks_give_the_pooled_fit(parametric, eb, mean_only, covariates, reference):
    rng = np.random.default_rng(1000 + OPTIONS.index((parametric, eb, mean_only, covariates, reference)))
    table = make_table(rng, n_batches=4, min_size=20, max_size=24)
    # Every (missing pattern, level) cell needs 0 or 5+ patients: 5 women, 5 men, 5 women, then men.
    table["sex"] = np.where(table.groupby("batch").cumcount().isin([*range(5), *range(10, 15)]), "F", "M")
    table = with_missing_blocks(table, rng)
    sites = split_into_sites(table, 3, rng)
    ref_batch = "scanner_1" if reference else None
    assert_equal_to_pooled(table, sites, settings_for(parametric, eb, mean_only, covariates), ref_batch)


def test_a_batch_shared_by_two_sites_with_missing_features():
    rng = np.random.default_rng(17)
    table = make_table(rng, n_batches=2, min_size=22, max_size=24).drop(columns="sex")
    table.loc[table.index[:5], ["CT__f0", "CT__f1"]] = np.nan
    table.loc[table.index[5:10], ["CT__f0", "CT__f1"]] = np.nan
    scanner_0 = table[table["batch"] == "scanner_0"]
    sites = [pd.concat([scanner_0.iloc[:15], table[table["batch"] == "scanner_1"]]), scanner_0.iloc[15:]]
    for parametric in (True, False):
        assert_equal_to_pooled(table, sites, DistributedSettings("batch", covariates=("age",),
                                                                 parametric=parametric))


def test_command_line_rounds_equal_pooled_combat(tmp_path, capsys):
    from radiomix.cli import main

    rng = np.random.default_rng(21)
    table = make_table(rng, n_batches=3)
    sites = split_into_sites(table, 2, rng)
    for name, site in zip("ab", sites):
        site.to_csv(tmp_path / f"site_{name}.csv", index=False)

    def run(*arguments):
        assert main([str(a) for a in arguments]) == 0, capsys.readouterr().err

    for name in "ab":
        run("harmonize", "stats", "--features", tmp_path / f"site_{name}.csv", "--batch-column", "batch",
            "--covariates", "age,sex", "--categorical", "sex", "--non-parametric",
            "-o", tmp_path / f"stats_{name}.json")
    run("harmonize", "combine", tmp_path / "stats_a.json", tmp_path / "stats_b.json", "--ref-batch", "scanner_0",
        "-o", tmp_path / "regression.json")
    for name in "ab":
        run("harmonize", "residuals", "--regression", tmp_path / "regression.json", "--features",
            tmp_path / f"site_{name}.csv", "-o", tmp_path / f"residuals_{name}.json")
    assert main(["harmonize", "combine", str(tmp_path / "residuals_a.json"), str(tmp_path / "residuals_b.json"),
                 "-o", str(tmp_path / "harmonizer.json")]) == 2
    assert "add --regression" in capsys.readouterr().err
    run("harmonize", "combine", tmp_path / "residuals_a.json", tmp_path / "residuals_b.json", "--regression",
        tmp_path / "regression.json", "-o", tmp_path / "harmonizer.json")
    for name in "ab":
        run("harmonize", "apply", "--harmonizer", tmp_path / "harmonizer.json", "--features",
            tmp_path / f"site_{name}.csv", "-o", tmp_path / f"harmonized_{name}.csv")
    harmonized = pd.concat([pd.read_csv(tmp_path / f"harmonized_{name}.csv") for name in "ab"])
    assert list(harmonized.columns) == list(table.columns)
    distributed = harmonized.set_index("patient_id").loc[table["patient_id"]]
    settings_ = DistributedSettings("batch", covariates=("age",), categorical=("sex",), parametric=False)
    _, pooled = pooled_combat(table, settings_, "scanner_0")
    for feature in pooled.columns:
        assert_close(distributed[feature], pooled[feature], feature)

    assert main(["harmonize", "stats", "--features", str(tmp_path / "site_a.csv"), "--batch-column", "batch",
                 "--covariates", "age,sex", "--categorical", "sex", "--min-patients", "500",
                 "-o", str(tmp_path / "refused.json")]) == 2
    assert "fewer than the minimum of 500" in capsys.readouterr().err
    assert not (tmp_path / "refused.json").exists()


def test_a_cohort_wide_table_is_harmonized_with_a_harmonizer_fitted_elsewhere(tmp_path):
    from radiomix.harmonize.distributed import harmonize_wide_table

    rng = np.random.default_rng(8)
    table = make_table(rng, n_batches=3)
    settings_ = DistributedSettings("batch", covariates=("age",), categorical=("sex",))
    harmonizer, harmonized_sites = run_protocol(split_into_sites(table, 2, rng), settings_)
    write_protocol_file(harmonizer, tmp_path / "harmonizer.json")
    features = [c for c in table.columns if c.startswith("CT__")]
    wide = table[["patient_id", *features]]
    stranger = pd.DataFrame({"patient_id": ["X999"], **{f: [1.0] for f in features}})
    clinical = table[["patient_id", "age", "sex"]]
    sites = table.set_index("patient_id")["batch"]
    result = harmonize_wide_table(pd.concat([wide, stranger], ignore_index=True), clinical,
                                  tmp_path / "harmonizer.json", batch_labels=sites)
    expected = pd.concat(harmonized_sites).set_index("patient_id").loc[table["patient_id"], features]
    np.testing.assert_allclose(result.set_index("patient_id").loc[table["patient_id"], features], expected,
                               rtol=1e-12)
    assert result.set_index("patient_id").loc["X999", features].tolist() == [1.0] * len(features)


def test_the_cohort_graph_takes_a_harmonizer_as_a_parameter(tmp_path):
    pipelines = pytest.importorskip("pipelines.cohort")
    (tmp_path / "harmonizer.json").write_text("{}")
    (tmp_path / "clinical.csv").write_text("patient_id,outcome\n")
    (tmp_path / "manifest.csv").write_text("patient_id,modality,image,mask,site\nP1,CT,ct.nii.gz,mask.nii.gz,A\n")
    common = {"manifest": str(tmp_path / "manifest.csv"), "clinical": str(tmp_path / "clinical.csv"),
              "outcome": "outcome", "workdir": str(tmp_path / "work")}
    plain = pipelines.Evaluate(**common)
    harmonized = pipelines.Evaluate(**common, harmonizer=str(tmp_path / "harmonizer.json"))
    assert harmonized.output().path != plain.output().path
    assert pipelines.RunCohort(**common, harmonizer=str(tmp_path / "harmonizer.json")).harmonizer


def test_numeric_labels_keep_their_type_and_order_through_files(tmp_path):
    rng = np.random.default_rng(13)
    table = make_table(rng, n_batches=3)
    table["batch"] = table["batch"].map({"scanner_0": 2, "scanner_1": 10, "scanner_2": 7})
    table["sex"] = table["sex"].map({"F": 1, "M": 2})
    sites = split_into_sites(table, 2, rng)
    for i, site in enumerate(sites):
        site.to_csv(tmp_path / f"site_{i}.csv", index=False)
    read_back = [pd.read_csv(tmp_path / f"site_{i}.csv", dtype={"patient_id": str}) for i in range(2)]
    settings_ = settings_for(True, True, False, True)
    assert_equal_to_pooled(table, read_back, settings_, ref_batch=10, through_files=tmp_path)
    harmonizer, _ = run_protocol(read_back, settings_, "10", through_files=tmp_path)
    assert harmonizer["batches"] == [2, 7, 10] and harmonizer["ref_batch"] == 10
    assert harmonizer["covariate_names"] == ["age", "sex[2]"]


@pytest.mark.parametrize("parametric", [True, False])
def test_without_privacy_minimum_any_table_combat_accepts_gives_the_pooled_fit(parametric):
    rng = np.random.default_rng(31)
    table = make_table(rng, n_batches=3)
    table = pd.concat([table, table.iloc[:2].assign(batch="scanner_9", patient_id=["Q1", "Q2"])], ignore_index=True)
    features = [c for c in table.columns if c.startswith("CT__")]
    holes = rng.uniform(size=(len(table), len(features))) < 0.1
    holes[table["batch"].to_numpy() == "scanner_9"] = False
    table[features] = table[features].mask(holes)
    sites = split_into_sites(table.drop(columns="sex"), 2, rng)
    settings_ = DistributedSettings("batch", covariates=("age",), parametric=parametric)
    stats = [site_statistics(site, settings_, min_patients=1) for site in sites]
    regression = combine_site_statistics(stats, ref_batch="scanner_0", min_patients=1)
    residuals = [residual_statistics(site, regression, min_patients=1) for site in sites]
    harmonizer = combine_residual_statistics(residuals, regression)
    model, pooled = pooled_combat(table.drop(columns="sex"), settings_, "scanner_0")
    for name in ("grand_mean", "covariate_coef", "pooled_std", "gamma_star", "delta_star"):
        assert_close(harmonizer[name], getattr(model, f"{name}_"), name)
    distributed = pd.concat([apply_harmonizer(site, harmonizer) for site in sites]).set_index("patient_id")
    for feature in features:
        assert_close(distributed.loc[table["patient_id"], feature], pooled[feature], feature)


def test_the_cohort_evaluation_harmonizes_with_a_harmonizer_fitted_elsewhere(tmp_path):
    from radiomix.cohort import outputs
    from radiomix.harmonize.distributed import harmonize_wide_table

    rng = np.random.default_rng(9)
    table = make_table(rng, n_batches=3, n_features=6, min_size=20, max_size=24)
    table["batch"] = table["batch"].map({"scanner_0": 1, "scanner_1": 2, "scanner_2": 3})
    settings_ = DistributedSettings("batch", covariates=("age",))
    harmonizer, _ = run_protocol(split_into_sites(table, 2, rng), settings_)
    write_protocol_file(harmonizer, tmp_path / "harmonizer.json")
    features = [c for c in table.columns if c.startswith("CT__")]
    table[["patient_id", *features]].to_csv(tmp_path / "features_wide.csv", index=False)
    clinical = table[["patient_id", "age"]].assign(outcome=(table["CT__f0"] > table["CT__f0"].median()).astype(int))
    clinical.to_csv(tmp_path / "clinical.csv", index=False)
    pd.DataFrame({"patient_id": table["patient_id"], "modality": "CT", "image": "ct.nii.gz", "mask": "mask.nii.gz",
                  "site": table["batch"].astype(str)}).to_csv(tmp_path / "manifest.csv", index=False)
    fast = {"n_estimators": 20, "max_depth_grid": [2], "min_child_weight_grid": [1.0], "n_outer_splits": 2,
            "n_repeats": 1, "n_inner_splits": 2, "n_bootstrap": 50, "n_shap_waterfalls": 1}
    outputs.evaluate(tmp_path / "features_wide.csv", tmp_path / "clinical.csv", "outcome", tmp_path / "evaluation",
                     failures=None, codebook=None, batch_column=None, settings=fast, manifest=tmp_path / "manifest.csv",
                     reference_modality="CT", harmonizer=tmp_path / "harmonizer.json")
    used = pd.read_csv(tmp_path / "evaluation" / "features_wide_harmonized.csv", dtype={"patient_id": str})
    expected = harmonize_wide_table(table[["patient_id", *features]], table[["patient_id", "age", "batch"]],
                                    tmp_path / "harmonizer.json")
    np.testing.assert_allclose(used[features], expected[features], rtol=1e-12)
    assert not np.allclose(used[features], table[features])
    assert (tmp_path / "evaluation" / "metrics.csv").exists()
