"""The arithmetic of ComBat (Johnson, Li & Rabinovic 2007), on plain arrays.

Everything here works on samples x features arrays (rows are samples, as in
scikit-learn) and knows nothing of column names beyond using them in messages.
:class:`radiomix.harmonize.ComBat` parses tables, encodes the design and calls
:func:`fit_combat` and :func:`apply_combat`.

The model, for feature ``f`` of sample ``i`` in batch ``k``::

    y_if = alpha_f + c_i . beta_f + gamma_kf + delta_kf * e_if,   e_if ~ N(0, sigma_f^2)

Conventions follow the reference implementations (R ``sva::ComBat`` and the
Python ``neuroCombat`` package), so that results agree with them:

- The design is the batch indicator matrix (one column per batch, no intercept;
  with a reference batch, its column is all ones and becomes the intercept)
  followed by the encoded covariates.
- ``alpha_f`` is the sample-size-weighted mean of the batch coefficients (or the
  reference batch's coefficient) and the pooled variance ``sigma_f^2`` is the
  mean squared residual over all samples (or over the reference batch), with
  divisor ``n``.
- The data standardised by ``alpha_f + c_i . beta_f`` and ``sigma_f`` give
  ``gamma_hat`` (per-batch means) and ``delta_hat`` (per-batch variances,
  divisor ``n_k - 1``; a zero variance is replaced by 1, i.e. no scaling).
- Parametric priors: ``gamma_kf ~ N(gamma_bar_k, tau2_k)`` and
  ``delta_kf ~ InverseGamma(a_k, b_k)`` by the method of moments across
  features; the posterior means are found by the fixed-point iteration of
  ``sva``'s ``it.sol``.  Non-parametric prior: the posterior means are averages
  of the other features' ``gamma_hat``/``delta_hat`` weighted by the
  likelihood of this feature's data under them.
- ``mean_only``: ``delta`` is fixed at 1; the parametric posterior mean of
  ``gamma`` is then ``postmean(gamma_hat, gamma_bar, 1, 1, tau2)`` as in ``sva``.

Missing values (NaN) are ignored: each feature is fitted on the samples where it
is observed, and statistics use that feature's observed count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Relative size under which a standard deviation counts as zero.
ZERO_SPREAD_RTOL = 1e-10
#: Stopping rule of the parametric fixed-point iteration (that of ``sva``'s ``it.sol``).
CONVERGENCE_TOL = 1e-4
#: Bound on the fixed-point iterations (convergence usually takes fewer than 30).
MAX_ITERATIONS = 10_000
#: Features handled per block by the non-parametric prior (bounds memory to a block x features matrix).
NONPARAMETRIC_BLOCK = 256


@dataclass(frozen=True)
class ComBatEstimates:
    """What a ComBat fit learns; standardised units unless said otherwise.

    Attributes
    ----------
    grand_mean : ndarray of shape (n_features,)
        ``alpha``: the batch-free location, in feature units.
    covariate_coef : ndarray of shape (n_covariate_columns, n_features)
        ``beta``: effect of each encoded covariate column, in feature units.
    pooled_std : ndarray of shape (n_features,)
        ``sigma``: pooled residual standard deviation, in feature units; 1.0 for
        the zero-variance features (whose gammas are therefore in feature units).
    zero_variance : ndarray of shape (n_features,), bool
        Features whose pooled residual variance is zero (constant, or fully
        explained by batch and covariates): adjusted by location only, without
        shrinkage, and left out of the priors.
    gamma_hat, delta_hat : ndarray of shape (n_batches, n_features)
        Per-batch location and scale estimates (``delta_hat`` is NaN where a
        batch has fewer than two observed values of a feature).
    gamma_star, delta_star : ndarray of shape (n_batches, n_features)
        The adjustments applied: ``(z - gamma_star) / sqrt(delta_star)``.
    n_observed : ndarray of shape (n_batches, n_features), int
        Observed (non-NaN) values per batch and feature.
    empirical_bayes : bool
        Whether the adjustments were shrunk; False when asked for but fewer than
        two features have non-zero residual variance (the priors are undefined).
    """

    grand_mean: np.ndarray
    covariate_coef: np.ndarray
    pooled_std: np.ndarray
    zero_variance: np.ndarray
    gamma_hat: np.ndarray
    delta_hat: np.ndarray
    gamma_star: np.ndarray
    delta_star: np.ndarray
    n_observed: np.ndarray
    empirical_bayes: bool


def batch_design(batch_codes: np.ndarray, n_batches: int, ref_index: int | None) -> np.ndarray:
    """Batch part of the design: one indicator column per batch.

    Parameters
    ----------
    batch_codes : ndarray of shape (n_samples,), int
        Batch of each sample, in ``0 .. n_batches - 1``.
    n_batches : int
        Number of batches.
    ref_index : int or None
        Reference batch; its column is all ones (the intercept).

    Returns
    -------
    ndarray of shape (n_samples, n_batches), float
    """
    design = (batch_codes[:, None] == np.arange(n_batches)[None, :]).astype(float)
    if ref_index is not None:
        design[:, ref_index] = 1.0
    return design


def _least_squares(design: np.ndarray, data: np.ndarray, observed: np.ndarray,
                   feature_names: np.ndarray) -> np.ndarray:
    """Per-feature least squares on the rows where each feature is observed.

    Features sharing a missingness pattern are solved together.

    Returns
    -------
    ndarray of shape (n_design_columns, n_features)
    """
    coef = np.empty((design.shape[1], data.shape[1]))
    patterns, pattern_of_feature = np.unique(observed.T, axis=0, return_inverse=True)
    for pattern_index, rows in enumerate(patterns):
        columns = pattern_of_feature.ravel() == pattern_index
        sub_design = design[rows]
        if np.linalg.matrix_rank(sub_design) < design.shape[1]:
            names = ", ".join(map(str, feature_names[columns][:5]))
            raise ValueError(
                f"the ComBat design (batches and covariates) is not of full rank on the samples "
                f"where feature(s) {names} are observed: check that every batch has observed "
                "values and that covariates are not collinear with batch"
            )
        coef[:, columns] = np.linalg.lstsq(sub_design, data[np.ix_(rows, columns)], rcond=None)[0]
    return coef


def _batch_moments(standardized: np.ndarray, observed: np.ndarray, batch_codes: np.ndarray,
                   n_batches: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observed count, mean and sum of squared deviations of each batch and feature."""
    indicator = (batch_codes[:, None] == np.arange(n_batches)[None, :]).astype(float)
    observed_float = observed.astype(float)
    counts = indicator.T @ observed_float
    values = np.where(observed, standardized, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = (indicator.T @ values) / counts
    deviations = np.where(observed, standardized - means[batch_codes], 0.0)
    sum_squares = indicator.T @ deviations**2
    return counts.astype(int), means, sum_squares


def _postmean(gamma_hat, gamma_bar, n, delta, tau2):
    """Posterior mean of gamma under the normal prior (Johnson et al. 2007, eq. 3.1)."""
    return (tau2 * n * gamma_hat + delta * gamma_bar) / (tau2 * n + delta)


def _inverse_gamma_prior(delta_hat: np.ndarray) -> tuple[float, float, float, float]:
    """Method-of-moments inverse-gamma prior of delta: ``(a, b, mean, variance)``."""
    mean = float(np.mean(delta_hat))
    variance = float(np.var(delta_hat, ddof=1))
    if variance == 0.0:
        return np.inf, np.inf, mean, variance
    return (2 * variance + mean**2) / variance, (mean * variance + mean**3) / variance, mean, variance


def _parametric_scale_and_location(gamma_hat, sum_squares, n, delta_hat, gamma_bar, tau2, a, b):
    """Fixed-point iteration of the parametric posterior means (``sva``'s ``it.sol``).

    Iterates ``gamma = postmean(...)``, ``delta = (sum((z - gamma)^2) / 2 + b) / (n / 2 + a - 1)``
    until ``max(|d gamma| / gamma, |d delta| / delta) <= CONVERGENCE_TOL`` over the
    features, with the signed denominator of the reference implementation.
    """
    gamma_old, delta_old = gamma_hat, delta_hat
    for _ in range(MAX_ITERATIONS):
        gamma_new = _postmean(gamma_hat, gamma_bar, n, delta_old, tau2)
        squares = sum_squares + n * (gamma_hat - gamma_new) ** 2
        delta_new = (0.5 * squares + b) / (n / 2.0 + a - 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            gamma_change = np.abs(gamma_new - gamma_old) / gamma_old
        change = max(np.max(gamma_change[gamma_old != 0], initial=0.0),
                     np.max(np.abs(delta_new - delta_old) / delta_old))
        gamma_old, delta_old = gamma_new, delta_new
        if change <= CONVERGENCE_TOL:
            return gamma_new, delta_new
    raise RuntimeError(
        f"parametric ComBat did not converge in {MAX_ITERATIONS} iterations; "
        "use parametric=False"
    )


def _nonparametric(mean: np.ndarray, sum_squares: np.ndarray, n: np.ndarray,
                   pool_gamma: np.ndarray, pool_delta: np.ndarray,
                   self_in_pool: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Non-parametric posterior means of gamma and delta for some features of one batch.

    Each feature's data (summarised by its observed count ``n``, ``mean`` and
    ``sum_squares`` about the mean) is scored under ``N(pool_gamma[j], pool_delta[j])``
    for every pooled feature ``j`` other than itself; the likelihoods weight the
    average of ``pool_gamma`` and ``pool_delta``.  Computed in log space, by blocks.

    Parameters
    ----------
    self_in_pool : ndarray of int
        Position of each feature in the pool, or -1 when it is not in it.
    """
    gamma_star = np.empty(mean.shape)
    delta_star = np.empty(mean.shape)
    log_delta = np.log(2 * np.pi * pool_delta)
    for start in range(0, mean.size, NONPARAMETRIC_BLOCK):
        block = slice(start, start + NONPARAMETRIC_BLOCK)
        n_block = n[block, None]
        squares = sum_squares[block, None] + n_block * (mean[block, None] - pool_gamma[None, :]) ** 2
        log_likelihood = -0.5 * n_block * log_delta[None, :] - squares / (2 * pool_delta[None, :])
        rows = np.flatnonzero(self_in_pool[block] >= 0)
        log_likelihood[rows, self_in_pool[block][rows]] = -np.inf
        weights = np.exp(log_likelihood - log_likelihood.max(axis=1, keepdims=True))
        weights /= weights.sum(axis=1, keepdims=True)
        gamma_star[block] = weights @ pool_gamma
        delta_star[block] = weights @ pool_delta
    return gamma_star, delta_star


def _batch_adjustments(mean, sum_squares, n, zero_variance, *, parametric, eb, mean_only):
    """``gamma_star`` and ``delta_star`` of one batch, for every feature.

    Cells with fewer than two observed values have no scale estimate: they are
    adjusted by location only (``delta_star = 1``), with the mean-only formulas.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        delta_hat = sum_squares / (n - 1)
    delta_hat = np.where(delta_hat <= (ZERO_SPREAD_RTOL * np.maximum(np.abs(mean), 1.0)) ** 2,
                         1.0, delta_hat)
    usable = ~zero_variance
    scaled = usable & (n >= 2) & (not mean_only)
    location_only = usable & ~scaled
    gamma_star = mean.copy()
    delta_star = np.where(scaled, delta_hat, 1.0)
    if not eb:
        return delta_hat, gamma_star, delta_star

    gamma_bar = float(np.mean(mean[usable]))
    tau2 = float(np.var(mean[usable], ddof=1))
    if scaled.sum() < 2:
        location_only |= scaled
        scaled = np.zeros_like(scaled)
        delta_star[location_only] = 1.0
    if parametric:
        gamma_star[location_only] = _postmean(mean[location_only], gamma_bar, 1, 1, tau2)
        if scaled.any():
            a, b, prior_mean, prior_variance = _inverse_gamma_prior(delta_hat[scaled])
            if prior_variance == 0.0:
                # Point-mass prior: delta is the common value; gamma given it.
                delta_star[scaled] = prior_mean
                gamma_star[scaled] = _postmean(mean[scaled], gamma_bar, n[scaled], prior_mean, tau2)
            else:
                gamma_star[scaled], delta_star[scaled] = _parametric_scale_and_location(
                    mean[scaled], sum_squares[scaled], n[scaled], delta_hat[scaled],
                    gamma_bar, tau2, a, b)
        return delta_hat, gamma_star, delta_star

    usable_index = np.flatnonzero(usable)
    position_in_usable = np.full(mean.size, -1)
    position_in_usable[usable_index] = np.arange(usable_index.size)
    gamma_star[location_only], _ = _nonparametric(
        mean[location_only], sum_squares[location_only], n[location_only],
        mean[usable], np.ones(usable_index.size), position_in_usable[location_only])
    if scaled.any():
        scaled_index = np.flatnonzero(scaled)
        position_in_scaled = np.full(mean.size, -1)
        position_in_scaled[scaled_index] = np.arange(scaled_index.size)
        gamma_star[scaled], delta_star[scaled] = _nonparametric(
            mean[scaled], sum_squares[scaled], n[scaled],
            mean[scaled], delta_hat[scaled], position_in_scaled[scaled])
    return delta_hat, gamma_star, delta_star


def fit_combat(data: np.ndarray, batch_codes: np.ndarray, n_batches: int, covariates: np.ndarray,
               *, ref_index: int | None, parametric: bool, eb: bool, mean_only: bool,
               feature_names: np.ndarray) -> ComBatEstimates:
    """Estimate the ComBat model.

    Parameters
    ----------
    data : ndarray of shape (n_samples, n_features), float
        Feature values; NaN where missing (ignored).  Every batch must have at least
        one observed value of every feature, and the reference batch two.
    batch_codes : ndarray of shape (n_samples,), int
        Batch of each sample, in ``0 .. n_batches - 1``.
    n_batches : int
        Number of batches.
    covariates : ndarray of shape (n_samples, n_covariate_columns), float
        Encoded covariates to preserve (categorical ones as indicator columns
        with the first level dropped).
    ref_index : int or None
        Reference batch, left unchanged; the others are mapped onto it.
    parametric, eb, mean_only : bool
        Parametric or non-parametric priors; empirical Bayes or plain per-batch
        estimates; location only.
    feature_names : ndarray of str
        Names used in error messages.

    Returns
    -------
    ComBatEstimates
    """
    observed = np.isfinite(data)
    design = np.hstack([batch_design(batch_codes, n_batches, ref_index), covariates])
    coef = _least_squares(design, np.where(observed, data, 0.0), observed, feature_names)
    batch_coef, covariate_coef = coef[:n_batches], coef[n_batches:]
    counts = _batch_moments(data, observed, batch_codes, n_batches)[0]

    residuals = np.where(observed, data - design @ coef, 0.0)
    if ref_index is None:
        grand_mean = np.sum(counts * batch_coef, axis=0) / counts.sum(axis=0)
        residual_rows, residual_counts = slice(None), counts.sum(axis=0)
    else:
        grand_mean = batch_coef[ref_index]
        residual_rows, residual_counts = batch_codes == ref_index, counts[ref_index]
    pooled_std = np.sqrt(np.sum(residuals[residual_rows] ** 2, axis=0) / residual_counts)
    magnitude = np.max(np.abs(np.where(observed, data, 0.0)), axis=0)
    zero_variance = pooled_std <= ZERO_SPREAD_RTOL * magnitude
    pooled_std = np.where(zero_variance, 1.0, pooled_std)
    # The priors are moments across features: with fewer than two varying
    # features they are undefined, and the plain estimates are used.
    eb = eb and np.count_nonzero(~zero_variance) >= 2

    standardized = (data - grand_mean - covariates @ covariate_coef) / pooled_std
    counts, gamma_hat, sum_squares = _batch_moments(standardized, observed, batch_codes, n_batches)
    delta_hat = np.empty_like(gamma_hat)
    gamma_star = np.empty_like(gamma_hat)
    delta_star = np.empty_like(gamma_hat)
    for k in range(n_batches):
        delta_hat[k], gamma_star[k], delta_star[k] = _batch_adjustments(
            gamma_hat[k], sum_squares[k], counts[k], zero_variance,
            parametric=parametric, eb=eb and k != ref_index, mean_only=mean_only)
    if mean_only:
        delta_hat = np.ones_like(delta_hat)
    if ref_index is not None:
        gamma_star[ref_index] = 0.0
        delta_star[ref_index] = 1.0
    return ComBatEstimates(grand_mean=grand_mean, covariate_coef=covariate_coef,
                           pooled_std=pooled_std, zero_variance=zero_variance,
                           gamma_hat=gamma_hat, delta_hat=delta_hat, gamma_star=gamma_star,
                           delta_star=delta_star, n_observed=counts, empirical_bayes=eb)


def apply_combat(data: np.ndarray, batch_codes: np.ndarray, covariates: np.ndarray, *,
                 grand_mean: np.ndarray, covariate_coef: np.ndarray, pooled_std: np.ndarray,
                 gamma_star: np.ndarray, delta_star: np.ndarray,
                 ref_index: int | None) -> np.ndarray:
    """Harmonize samples of known batches with fitted estimates.

    ``y* = (z - gamma_star) / sqrt(delta_star) * sigma + alpha + c . beta`` with
    ``z = (y - alpha - c . beta) / sigma``; rows of the reference batch are
    returned unchanged, NaN stays NaN.

    Parameters
    ----------
    data : ndarray of shape (n_samples, n_features), float
    batch_codes : ndarray of shape (n_samples,), int
    covariates : ndarray of shape (n_samples, n_covariate_columns), float
    grand_mean, covariate_coef, pooled_std, gamma_star, delta_star : ndarray
        The fields of the same name of :class:`ComBatEstimates`.
    ref_index : int or None

    Returns
    -------
    ndarray of shape (n_samples, n_features), float
    """
    biology = grand_mean + covariates @ covariate_coef
    standardized = (data - biology) / pooled_std
    adjusted = (standardized - gamma_star[batch_codes]) / np.sqrt(delta_star[batch_codes])
    harmonized = adjusted * pooled_std + biology
    if ref_index is not None:
        reference_rows = batch_codes == ref_index
        harmonized[reference_rows] = data[reference_rows]
    return harmonized
