"""Plain NumPy ComBat, written from the equations of Johnson, Li & Rabinovic (2007).

A test reference for :mod:`radiomix.harmonize`: loops over features and batches,
one equation per line, no vectorisation, no missing values.  Equation numbers are
those of the paper (Biostatistics 8:118-127, section 3); the reference-batch
variant is that of Zhang, Jenkins, Manimaran & Johnson (2018, BMC Bioinformatics
19:262).  Two conventions come from the reference software (R
``sva::ComBat``) rather than the paper, because the paper leaves them open:

- the fixed-point iteration of the parametric posterior stops when
  ``max(|d gamma| / gamma_old, |d delta| / delta_old) <= 1e-4`` over the features
  of a batch (``it.sol``), and a zero ``delta_hat`` is replaced by 1;
- location-only ComBat (``mean_only``) uses ``gamma* = postmean(gamma_hat,
  gamma_bar, n=1, delta=1, tau2)``.
"""

from __future__ import annotations

import math

import numpy as np


def naive_combat(data, batch, covariates=None, *, parametric=True, eb=True, mean_only=False,
                 ref_batch=None):
    """Harmonize ``data`` (samples x features) by ``batch``, preserving ``covariates``.

    Parameters
    ----------
    data : ndarray of shape (n_samples, n_features)
    batch : ndarray of shape (n_samples,)
        Batch label of each sample.
    covariates : ndarray of shape (n_samples, n_covariates), optional
        Encoded covariates (categorical ones as indicators, first level dropped).
    parametric, eb, mean_only : bool
    ref_batch : label, optional

    Returns
    -------
    ndarray of shape (n_samples, n_features)
    """
    data = np.asarray(data, dtype=float)
    n_samples, n_features = data.shape
    levels = sorted(set(batch.tolist()))
    members = [[i for i in range(n_samples) if batch[i] == level] for level in levels]
    covariates = np.zeros((n_samples, 0)) if covariates is None else np.asarray(covariates, float)
    ref = None if ref_batch is None else levels.index(ref_batch)

    # Design: one indicator per batch (the reference batch's is the intercept), covariates.
    design = np.zeros((n_samples, len(levels) + covariates.shape[1]))
    for k, rows in enumerate(members):
        for i in rows:
            design[i, k] = 1.0
    if ref is not None:
        design[:, ref] = 1.0
    design[:, len(levels):] = covariates

    # Step 1 (eq. 2.1 fitted by least squares): alpha, beta, gamma, then sigma^2.
    standardized = np.zeros_like(data)
    alpha = np.zeros(n_features)
    sigma = np.zeros(n_features)
    biology = np.zeros_like(data)
    for g in range(n_features):
        coef = np.linalg.solve(design.T @ design, design.T @ data[:, g])
        if ref is None:
            alpha[g] = sum(len(members[k]) / n_samples * coef[k] for k in range(len(levels)))
        else:
            alpha[g] = coef[ref]
        residual = data[:, g] - design @ coef
        rows = range(n_samples) if ref is None else members[ref]
        sigma[g] = math.sqrt(sum(residual[i] ** 2 for i in rows) / len(rows))
        for i in range(n_samples):
            biology[i, g] = alpha[g] + covariates[i] @ coef[len(levels):]
            standardized[i, g] = (data[i, g] - biology[i, g]) / sigma[g]

    # Step 2: per-batch estimates, priors by the method of moments, posterior means.
    gamma_star = np.zeros((len(levels), n_features))
    delta_star = np.ones((len(levels), n_features))
    for k, rows in enumerate(members):
        n = len(rows)
        z = standardized[rows]
        gamma_hat = np.array([sum(z[:, g]) / n for g in range(n_features)])
        if mean_only:
            delta_hat = np.ones(n_features)
        else:
            delta_hat = np.array([sum((z[:, g] - gamma_hat[g]) ** 2) / (n - 1)
                                  for g in range(n_features)])
            delta_hat[delta_hat == 0] = 1.0
        if k == ref:
            continue
        if not eb:
            gamma_star[k], delta_star[k] = gamma_hat, delta_hat
        elif parametric and mean_only:
            gamma_bar = np.mean(gamma_hat)
            tau2 = np.var(gamma_hat, ddof=1)
            gamma_star[k] = (tau2 * gamma_hat + gamma_bar) / (tau2 + 1)
        elif parametric:
            gamma_star[k], delta_star[k] = _parametric_posterior(z, gamma_hat, delta_hat)
        else:
            gamma_star[k], delta_star[k] = _nonparametric_posterior(z, gamma_hat, delta_hat)
            if mean_only:
                delta_star[k] = 1.0

    # Step 3 (eq. 3.3): back to feature units; the reference batch is left as it is.
    harmonized = np.zeros_like(data)
    for k, rows in enumerate(members):
        for i in rows:
            for g in range(n_features):
                if k == ref:
                    harmonized[i, g] = data[i, g]
                else:
                    harmonized[i, g] = (sigma[g] / math.sqrt(delta_star[k, g])
                                        * (standardized[i, g] - gamma_star[k, g]) + biology[i, g])
    return harmonized


def _parametric_posterior(z, gamma_hat, delta_hat):
    """Posterior means under N(gamma_bar, tau2) and InverseGamma(lambda, theta) priors."""
    n = z.shape[0]
    gamma_bar = np.mean(gamma_hat)
    tau2 = np.var(gamma_hat, ddof=1)
    v_bar = np.mean(delta_hat)
    s2 = np.var(delta_hat, ddof=1)
    lam = (v_bar**2 + 2 * s2) / s2
    theta = (v_bar**3 + v_bar * s2) / s2
    gamma_old, delta_old = gamma_hat.copy(), delta_hat.copy()
    while True:
        gamma_new = np.empty_like(gamma_hat)
        delta_new = np.empty_like(delta_hat)
        for g in range(gamma_hat.size):
            gamma_new[g] = ((n * tau2 * gamma_hat[g] + delta_old[g] * gamma_bar)
                            / (n * tau2 + delta_old[g]))
            delta_new[g] = ((theta + 0.5 * sum((z[:, g] - gamma_new[g]) ** 2))
                            / (n / 2 + lam - 1))
        change = max(max(abs(gamma_new - gamma_old) / gamma_old),
                     max(abs(delta_new - delta_old) / delta_old))
        gamma_old, delta_old = gamma_new, delta_new
        if change <= 1e-4:
            return gamma_new, delta_new


def _nonparametric_posterior(z, gamma_hat, delta_hat):
    """Posterior means under the empirical distribution of the other features' estimates."""
    n_features = gamma_hat.size
    gamma_star = np.empty(n_features)
    delta_star = np.empty(n_features)
    for g in range(n_features):
        others = [j for j in range(n_features) if j != g]
        log_likelihood = np.array([
            sum(-0.5 * math.log(2 * math.pi * delta_hat[j])
                - (z[i, g] - gamma_hat[j]) ** 2 / (2 * delta_hat[j]) for i in range(z.shape[0]))
            for j in others])
        weight = np.exp(log_likelihood - log_likelihood.max())
        gamma_star[g] = sum(weight * gamma_hat[others]) / sum(weight)
        delta_star[g] = sum(weight * delta_hat[others]) / sum(weight)
    return gamma_star, delta_star
