"""ComBat: agreement with neuroCombat and with the paper's equations, edge cases, scikit-learn use."""

from __future__ import annotations

import itertools
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.metadata_routing import MetadataRequest

from radiomix.harmonize import (
    ComBat,
    ComBatWarning,
    PerModalityComBat,
    UnseenBatchWarning,
)

from naive_combat import naive_combat

#: parametric, eb, mean_only, with covariates, reference batch
COMBINATIONS = list(itertools.product([True, False], [True, False], [False, True], [False, True],
                                      [None, "B"]))
COMBINATION_IDS = [f"param={p}-eb={e}-mean_only={m}-cov={c}-ref={r}"
                   for p, e, m, c, r in COMBINATIONS]


def make_cohort(seed=0, sizes=(25, 35, 30), n_features=40, shift=(0.0, 0.8, -0.5),
                scale=(1.0, 1.3, 0.8)):
    """Features with batch location/scale effects, an age and a sex effect.

    Age is a whole number of years and the data are float64 arrays, so that
    neuroCombat (which casts continuous covariates to float32) sees the same
    numbers.
    """
    rng = np.random.default_rng(seed)
    site = np.repeat(np.array(["A", "B", "C"])[: len(sizes)], sizes)
    codes = np.repeat(np.arange(len(sizes)), sizes)
    age = rng.integers(30, 80, site.size).astype(float)
    sex = rng.choice(["F", "M"], site.size)
    noise = rng.normal(size=(site.size, n_features)) * rng.uniform(0.5, 2.0, n_features)
    data = (noise * np.asarray(scale)[codes, None] + np.asarray(shift)[codes, None]
            + rng.uniform(5, 20, n_features) + 0.05 * age[:, None] + 0.7 * (sex == "M")[:, None])
    table = pd.DataFrame(data, columns=[f"f{j}" for j in range(n_features)],
                         index=[f"patient_{i}" for i in range(site.size)])
    table["site"], table["age"], table["sex"] = site, age, sex
    return table


def classifier():
    return [StandardScaler(), LogisticRegression(solver="liblinear")]


def feature_columns(table):
    return [column for column in table.columns if column.startswith("f")]


def combat_for(parametric, eb, mean_only, covariates, ref):
    return ComBat("site", covariate_cols=["age"] if covariates else (),
                  categorical_cols=["sex"] if covariates else (), parametric=parametric, eb=eb,
                  mean_only=mean_only, ref_batch=ref)


def model_input(table, covariates):
    return table[[*feature_columns(table), "site", *(["age", "sex"] if covariates else [])]]


def max_relative_difference(actual, expected):
    return float(np.max(np.abs(actual - expected) / np.abs(expected)))


@pytest.fixture
def neurocombat(monkeypatch):
    """neuroCombat 0.2.12, which still uses the aliases np.int and np.float."""
    monkeypatch.setattr(np, "int", int, raising=False)
    monkeypatch.setattr(np, "float", float, raising=False)
    from neuroCombat import neuroCombat

    return neuroCombat


@pytest.fixture(scope="module")
def cohort():
    return make_cohort()


@pytest.mark.parametrize(("parametric", "eb", "mean_only", "covariates", "ref"), COMBINATIONS,
                         ids=COMBINATION_IDS)
def test_fit_transform_matches_neurocombat(neurocombat, cohort, parametric, eb, mean_only,
                                           covariates, ref):
    data = cohort[feature_columns(cohort)].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = neurocombat(
            data.T.copy(), cohort[["site", "age", "sex"]].reset_index(drop=True), "site",
            categorical_cols=["sex"] if covariates else None,
            continuous_cols=["age"] if covariates else None, eb=eb, parametric=parametric,
            mean_only=mean_only, ref_batch=ref)["data"].T
    assert np.isfinite(expected).all()
    harmonized = combat_for(parametric, eb, mean_only, covariates, ref).fit_transform(
        model_input(cohort, covariates))
    assert max_relative_difference(harmonized.to_numpy(), expected) < 1e-6


@pytest.mark.parametrize(("parametric", "eb", "mean_only", "covariates", "ref"), COMBINATIONS,
                         ids=COMBINATION_IDS)
def test_fit_transform_matches_paper_equations(cohort, parametric, eb, mean_only, covariates, ref):
    covariate_design = np.column_stack([cohort["age"], cohort["sex"] == "M"]) if covariates else None
    expected = naive_combat(cohort[feature_columns(cohort)].to_numpy(), cohort["site"].to_numpy(),
                            covariate_design, parametric=parametric, eb=eb, mean_only=mean_only,
                            ref_batch=ref)
    harmonized = combat_for(parametric, eb, mean_only, covariates, ref).fit_transform(
        model_input(cohort, covariates))
    assert max_relative_difference(harmonized.to_numpy(), expected) < 1e-6


def test_nonparametric_stays_finite_where_likelihoods_underflow():
    """Strong batch effects: a product of normal densities underflows; log space does not."""
    table = make_cohort(seed=3, shift=(0.0, 3.0, -2.0), scale=(1.0, 2.5, 0.4))
    expected = naive_combat(table[feature_columns(table)].to_numpy(), table["site"].to_numpy(),
                            parametric=False)
    harmonized = ComBat("site", parametric=False).fit_transform(model_input(table, False))
    assert np.isfinite(harmonized.to_numpy()).all()
    assert max_relative_difference(harmonized.to_numpy(), expected) < 1e-6


def test_transform_applies_fitted_parameters_to_new_rows(cohort):
    train, test = cohort.iloc[::2], cohort.iloc[1::2]
    combat = ComBat("site", covariate_cols=["age"], categorical_cols=["sex"]).fit(train)
    harmonized = combat.transform(test)
    codes = np.searchsorted(combat.batches_, test["site"].to_numpy())
    design = np.column_stack([test["age"], test["sex"] == "M"])
    biology = combat.grand_mean_ + design @ combat.covariate_coef_
    z = (test[feature_columns(test)].to_numpy() - biology) / combat.pooled_std_
    expected = ((z - combat.gamma_star_[codes]) / np.sqrt(combat.delta_star_[codes])
                * combat.pooled_std_ + biology)
    np.testing.assert_allclose(harmonized.to_numpy(), expected, rtol=1e-12)
    # Rows are harmonized independently of each other.
    np.testing.assert_allclose(combat.transform(test.iloc[:5]).to_numpy(),
                               harmonized.iloc[:5].to_numpy(), rtol=1e-12)


def test_dataframe_keeps_index_and_names(cohort):
    combat = ComBat("site", covariate_cols=["age"], categorical_cols=["sex"])
    harmonized = combat.fit_transform(cohort)
    assert list(harmonized.columns) == feature_columns(cohort)
    assert harmonized.index.equals(cohort.index)
    assert list(combat.get_feature_names_out()) == feature_columns(cohort)
    assert list(combat.covariate_names_) == ["age", "sex[M]"]


def test_array_input_with_positional_batch_column(cohort):
    table = model_input(cohort, False)
    array = np.column_stack([table["site"].to_numpy(), table[feature_columns(table)].to_numpy()])
    harmonized = ComBat(0).fit(array).transform(array)
    assert isinstance(harmonized, np.ndarray)
    np.testing.assert_allclose(harmonized.astype(float),
                               ComBat("site").fit_transform(table).to_numpy(), rtol=1e-12)
    assert list(ComBat(0).fit(array).get_feature_names_out()[:2]) == ["x1", "x2"]


def test_unseen_batch_is_named_or_passed_through(cohort):
    table = model_input(cohort, False)
    combat = ComBat("site").fit(table[table["site"] != "C"])
    with pytest.raises(ValueError, match="batch\\(es\\) C were not seen at fit"):
        combat.transform(table)
    passing = ComBat("site", unseen_batch="passthrough").fit(table[table["site"] != "C"])
    with pytest.warns(UnseenBatchWarning, match="C"):
        harmonized = passing.transform(table)
    unseen = (table["site"] == "C").to_numpy()
    np.testing.assert_array_equal(harmonized[unseen].to_numpy(),
                                  table.loc[unseen, feature_columns(table)].to_numpy())
    np.testing.assert_allclose(harmonized[~unseen].to_numpy(),
                               combat.transform(table[~unseen]).to_numpy())


def test_reference_batch_rows_are_unchanged(cohort):
    table = model_input(cohort, True)
    harmonized = ComBat("site", covariate_cols=["age"], categorical_cols=["sex"],
                        ref_batch="B").fit_transform(table)
    reference = (table["site"] == "B").to_numpy()
    np.testing.assert_array_equal(harmonized[reference].to_numpy(),
                                  table.loc[reference, feature_columns(table)].to_numpy())
    with pytest.raises(ValueError, match="ref_batch 'Z' is not among the batches"):
        ComBat("site", ref_batch="Z").fit(model_input(cohort, False))


def test_constant_feature_is_unchanged_and_left_out_of_the_priors(cohort):
    table = model_input(cohort, False)
    with_constant = table.assign(constant=3.5)
    combat = ComBat("site").fit(with_constant)
    harmonized = combat.transform(with_constant)
    assert list(combat.zero_variance_features_) == ["constant"]
    np.testing.assert_allclose(harmonized["constant"], 3.5, rtol=1e-12)
    np.testing.assert_allclose(harmonized[feature_columns(table)].to_numpy(),
                               ComBat("site").fit_transform(table).to_numpy(), rtol=1e-12)


def test_feature_explained_by_batch_loses_its_batch_effect(cohort):
    table = model_input(cohort, False)
    table = table.assign(by_site=table["site"].map({"A": 1.0, "B": 2.0, "C": 4.0}))
    harmonized = ComBat("site").fit_transform(table)
    np.testing.assert_allclose(harmonized["by_site"], harmonized["by_site"].iloc[0], rtol=1e-12)


def test_single_sample_batch_is_adjusted_by_location_only(cohort):
    table = model_input(cohort, False)
    lonely = table.iloc[[0]].assign(site="D")
    table = pd.concat([table, lonely])
    with pytest.warns(ComBatWarning, match="D have a single observed value"):
        combat = ComBat("site").fit(table)
    assert np.all(combat.delta_star_[list(combat.batches_).index("D")] == 1.0)
    assert np.isfinite(combat.transform(table).to_numpy()).all()


def test_rows_without_the_modality_are_ignored_and_stay_missing(cohort):
    table = model_input(cohort, True)
    absent = table.iloc[:4].copy()
    absent[feature_columns(table)] = np.nan
    absent["site"] = None
    absent.index = [f"absent_{i}" for i in range(4)]
    combat = ComBat("site", covariate_cols=["age"], categorical_cols=["sex"])
    harmonized = combat.fit_transform(pd.concat([table, absent]))
    assert harmonized.loc[absent.index].isna().all().all()
    np.testing.assert_allclose(harmonized.loc[table.index].to_numpy(),
                               clone(combat).fit_transform(table).to_numpy(), rtol=1e-12)


def test_missing_values_are_ignored_feature_by_feature(cohort):
    table = model_input(cohort, True)
    holed = table.copy()
    holed.iloc[[3, 17, 40, 41], 0] = np.nan
    kwargs = {"covariate_cols": ["age"], "categorical_cols": ["sex"], "eb": False}
    harmonized = ComBat("site", **kwargs).fit_transform(holed)
    observed = holed["f0"].notna().to_numpy()
    alone = ComBat("site", **kwargs).fit_transform(holed.loc[observed, ["f0", "site", "age", "sex"]])
    np.testing.assert_allclose(harmonized.loc[observed, "f0"], alone["f0"], rtol=1e-10)
    assert harmonized.loc[~observed, "f0"].isna().all()
    np.testing.assert_allclose(harmonized.iloc[:, 1:].to_numpy(),
                               ComBat("site", **kwargs).fit_transform(table).iloc[:, 1:].to_numpy(),
                               rtol=1e-10)
    with_eb = ComBat("site", covariate_cols=["age"], categorical_cols=["sex"]).fit_transform(holed)
    assert np.isfinite(with_eb.to_numpy()[observed]).all()


@pytest.mark.parametrize(("change", "message"), [
    (lambda t: t.assign(site=t["site"].where(t.index != "patient_0", None)),
     "patient_0 have feature values but no batch label"),
    (lambda t: t.assign(f0=t["f0"].where(t.index != "patient_1", np.inf)), "infinity"),
    (lambda t: t.assign(note="text"), "feature column\\(s\\) note are not numeric"),
    (lambda t: t.assign(f1=t["f1"].where(t["site"] != "A", np.nan)),
     "batch 'A' has fewer than 1 observed value\\(s\\) of feature\\(s\\) f1"),
])
def test_invalid_input_is_refused_with_a_reason(cohort, change, message):
    with pytest.raises(ValueError, match=message):
        ComBat("site").fit(change(model_input(cohort, False)))


def test_covariate_problems_are_named(cohort):
    table = model_input(cohort, True)
    combat = ComBat("site", covariate_cols=["age"], categorical_cols=["sex"]).fit(table)
    with pytest.raises(ValueError, match="'sex' has level\\(s\\) X not seen at fit"):
        combat.transform(table.assign(sex="X"))
    with pytest.raises(ValueError, match="covariate 'age' has missing or infinite values"):
        combat.transform(table.assign(age=np.nan))
    with pytest.raises(ValueError, match="list it in categorical_cols"):
        ComBat("site", covariate_cols=["sex"]).fit(table.drop(columns="age"))
    with pytest.raises(ValueError, match="column 'scanner' is not in X"):
        ComBat("scanner").fit(table)


def test_single_feature_uses_the_plain_estimates(cohort):
    table = cohort[["f0", "site"]]
    with pytest.warns(ComBatWarning, match="empirical Bayes needs at least 2 features"):
        harmonized = ComBat("site").fit_transform(table)
    np.testing.assert_allclose(harmonized, ComBat("site", eb=False).fit_transform(table))


def test_pipeline_cross_validate_and_grid_search_with_the_batch_column(cohort):
    X = model_input(cohort, True)
    y = (cohort["age"] > 55).to_numpy().astype(int)
    pipeline = make_pipeline(ComBat("site", covariate_cols=["age"], categorical_cols=["sex"]),
                             *classifier())
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    scores = cross_validate(pipeline, X, y, cv=folds, scoring="roc_auc")["test_score"]
    assert np.isfinite(scores).all()
    search = GridSearchCV(pipeline, {"combat__mean_only": [False, True],
                                     "combat__parametric": [True, False]},
                          cv=folds, scoring="roc_auc").fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    restored = pickle.loads(pickle.dumps(search.best_estimator_))
    np.testing.assert_allclose(restored.predict_proba(X), search.predict_proba(X))


class BatchAwareAUROC:
    """A scorer that forwards the routed batch labels to ``predict_proba``.

    scikit-learn's scorers call ``predict_proba(X)`` without metadata, so a batch
    passed by routing must be forwarded by the scorer itself.
    """

    def __call__(self, estimator, X, y, batch):
        return roc_auc_score(y, estimator.predict_proba(X, batch=batch)[:, 1])

    def get_metadata_routing(self):
        request = MetadataRequest(owner=type(self).__name__)
        request.score.add_request(param="batch", alias=True)
        return request


def test_batch_through_metadata_routing(cohort):
    X = cohort[feature_columns(cohort)]
    site = cohort["site"].to_numpy()
    y = (cohort["age"] > 55).to_numpy().astype(int)
    by_column = make_pipeline(ComBat("site"), *classifier())
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        routed = make_pipeline(
            ComBat().set_fit_request(batch=True).set_transform_request(batch=True),
            *classifier())
        routed.fit(X, y, batch=site)
        np.testing.assert_allclose(routed.predict_proba(X, batch=site),
                                   clone(by_column).fit(X.assign(site=site), y).predict_proba(
                                       X.assign(site=site)))
        routed_scores = cross_validate(routed, X, y, cv=folds, scoring=BatchAwareAUROC(),
                                       params={"batch": site})["test_score"]
        search = GridSearchCV(routed, {"combat__mean_only": [False, True]}, cv=folds,
                              scoring=BatchAwareAUROC()).fit(X, y, batch=site)
    column_scores = cross_validate(by_column, X.assign(site=site), y, cv=folds,
                                   scoring="roc_auc")["test_score"]
    np.testing.assert_allclose(routed_scores, column_scores)
    assert set(search.best_params_) == {"combat__mean_only"}
    with pytest.raises(ValueError, match="batch labels given twice"):
        ComBat("site").fit(X.assign(site=site), batch=site)
    with pytest.raises(ValueError, match="no batch labels"):
        ComBat().fit(X)


#: Common checks that the batch column makes inapplicable.  The checks build
#: numeric arrays; ComBat(batch_col=0) reads column 0 as batch labels.
BATCH_COLUMN_EXCEPTIONS = {
    "check_dtype_object": (
        "puts a dict in column 0, the batch column: ComBat refuses it as an unsortable batch "
        "label (TypeError naming the batch column), not with the float-conversion message the "
        "check expects"),
    "check_estimators_pickle": (
        "sets random entries to NaN, some in column 0: a row with feature values and no batch "
        "label is an error by design (the row cannot be harmonized)"),
}


@parametrize_with_checks([ComBat(batch_col=0)],
                         expected_failed_checks=lambda estimator: BATCH_COLUMN_EXCEPTIONS,
                         xfail_strict=True)
def test_scikit_learn_common_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ComBatWarning)
        check(estimator)


# ------------------------------------------------------------------ per modality
def make_wide(seed=0):
    """A wide table: CT features by CT site, MR features by MR scanner, clinical columns."""
    ct = make_cohort(seed, n_features=12)
    mr = make_cohort(seed + 1, n_features=8, sizes=(30, 30, 30), shift=(0.0, -1.0, 1.0))
    wide = pd.DataFrame(index=ct.index)
    for name in feature_columns(ct):
        wide[f"CT__{name}"] = ct[name]
    wide["CT_site"] = ct["site"].to_numpy()
    for name in feature_columns(mr):
        wide[f"MR__{name}"] = mr[name].to_numpy()
    wide["MR_scanner"] = mr["site"].map({"A": "scanner_1", "B": "scanner_2", "C": "scanner_3"}).to_numpy()
    wide["age"], wide["sex"] = ct["age"], ct["sex"]
    return wide


def test_per_modality_equals_one_combat_per_modality():
    wide = make_wide()
    harmonizer = PerModalityComBat({"CT": "CT_site", "MR": "MR_scanner"},
                                   covariate_cols=["age"], categorical_cols=["sex"])
    harmonized = harmonizer.fit_transform(wide)
    expected_columns = [c for c in wide.columns if c not in ("CT_site", "MR_scanner")]
    assert list(harmonized.columns) == expected_columns == list(harmonizer.get_feature_names_out())
    assert harmonized.index.equals(wide.index)
    for modality, batch_col in (("CT", "CT_site"), ("MR", "MR_scanner")):
        columns = [c for c in wide.columns if c.startswith(f"{modality}__")]
        alone = ComBat(batch_col, covariate_cols=["age"], categorical_cols=["sex"]).fit_transform(
            wide[[*columns, batch_col, "age", "sex"]])
        np.testing.assert_allclose(harmonized[columns].to_numpy(), alone.to_numpy(), rtol=1e-12)
    pd.testing.assert_series_equal(harmonized["sex"], wide["sex"])
    dropped = clone(harmonizer).set_params(remainder="drop").fit_transform(wide)
    assert [c for c in dropped.columns if not c.startswith(("CT__", "MR__"))] == []


def test_per_modality_patient_without_a_modality():
    wide = make_wide()
    mr_columns = [c for c in wide.columns if c.startswith("MR__")]
    wide.loc[wide.index[:5], mr_columns] = np.nan
    wide.loc[wide.index[:5], "MR_scanner"] = None
    harmonized = PerModalityComBat({"CT": "CT_site", "MR": "MR_scanner"}).fit_transform(wide)
    assert harmonized.loc[wide.index[:5], mr_columns].isna().all().all()
    assert np.isfinite(harmonized.loc[wide.index[5:], mr_columns].to_numpy()).all()
    assert np.isfinite(harmonized[[c for c in wide.columns if c.startswith("CT__")]].to_numpy()).all()


def test_per_modality_in_cross_validation():
    wide = make_wide()
    y = (wide["age"] > 55).to_numpy().astype(int)
    pipeline = make_pipeline(
        PerModalityComBat({"CT": "CT_site", "MR": "MR_scanner"}, remainder="drop"),
        *classifier())
    scores = cross_validate(pipeline, wide, y, cv=StratifiedKFold(3, shuffle=True, random_state=0),
                            scoring="roc_auc")["test_score"]
    assert np.isfinite(scores).all()
    assert clone(pipeline).get_params()["permodalitycombat__remainder"] == "drop"


def test_per_modality_refuses_what_it_cannot_use():
    wide = make_wide()
    with pytest.raises(ValueError, match="no column of X is named PET__<feature>"):
        PerModalityComBat({"PET": "PET_site"}).fit(wide)
    with pytest.raises(TypeError, match="needs a DataFrame"):
        PerModalityComBat({"CT": "CT_site"}).fit(wide.to_numpy())
    with pytest.raises(ValueError, match="batch_cols must map each modality"):
        PerModalityComBat().fit(wide)
    with pytest.raises(ValueError, match="ref_batch names modalities without a batch column"):
        PerModalityComBat({"CT": "CT_site"}, ref_batch={"MR": "scanner_1"}).fit(wide)
