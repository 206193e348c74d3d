"""pyradiomics' maximal correlation coefficient (MCC): a GLCM feature outside IBSI.

``MCC = sqrt(lambda_2)``, ``lambda_2`` the second largest eigenvalue of
``Q_ij = sum_k p_ik p_jk / (px_i py_k + eps)`` (``p`` a normalised GLCM,
``px``/``py`` its marginals, ``eps = numpy.spacing(1)``), averaged over the
matrices of an aggregation. The GLCM family computes it only when asked
(``features.glcm.non_ibsi_features: [maximal_correlation_coefficient]``).
The eigenvalue is found without LAPACK (:func:`second_largest_eigenvalue`).
"""

from __future__ import annotations

import numpy as np

from radiomix._numba import chunk_count, njit, njit_parallel, prange

EPS = float(np.spacing(1))
"""pyradiomics' guard against division by 0 in ``Q`` (``numpy.spacing(1)``, 2.2e-16)."""


def maximal_correlation_coefficient(counts: np.ndarray) -> float:
    """pyradiomics' MCC of a stack of GLCMs over the grey levels present in the ROI, averaged over matrices.

    ``counts``: GLCM counts (any scale) of shape ``(n, n, n_matrices)``, one
    row and column per grey level present in the ROI. The value is
        1 for a single grey level (pyradiomics' flat-region value); NaN when
        a matrix is empty (pyradiomics' eigenvalue solver fails on it).
        Without any matrix: 1 for a single grey level, else NaN, as
        pyradiomics. A second eigenvalue that is 0 within rounding (a GLCM
        of rank 1) counts as 0; pyradiomics gives 0 too, except when every
        offset's eigenvalues come out real and that one rounds below 0: then
        its square root is NaN and left out.
    """
    n = counts.shape[0]
    non_empty = counts.sum(axis=(0, 1)) > 0
    if counts.shape[2] > 0 and not non_empty.all():
        return float("nan")
    if n < 2:
        return 1.0
    if counts.shape[2] == 0:
        return float("nan")
    second = mcc_second_eigenvalues(counts, EPS)
    return float(np.mean(np.sqrt(np.maximum(second, 0.0))))


def mcc_second_eigenvalues(matrices: np.ndarray, eps: float) -> np.ndarray:
    """Second largest eigenvalue of pyradiomics' MCC matrix ``Q`` of each GLCM.

    pyradiomics' ``Q_ij = sum_k p_ik p_jk / (px_i py_k + eps)`` (``p`` the
    normalised GLCM, ``px``/``py`` its marginals) is not symmetric. Its
    similarity transform ``S = Px^1/2 Q Px^-1/2`` has the same eigenvalues
    and departs from a symmetric matrix only through ``eps``; the eigenvalues
    of the symmetric part ``(S + S^T) / 2`` equal them to second order in
    ``eps / (px_i py_k)`` (a skew-symmetric perturbation moves no eigenvalue
    to first order). A level with ``px_i = 0`` gives a zero row and column
    (eigenvalue 0, as in ``Q``).

    ``matrices``: GLCM counts (any scale) of shape ``(n, n, n_matrices)``, n >= 2, none empty.
    """
    n, _, n_matrices = matrices.shape
    stacked = np.ascontiguousarray(matrices.transpose(2, 0, 1))
    if chunk_count(n ** 3 * n_matrices, n_matrices) == 1:  # on the calling thread: no parallel region to start
        # kernel by kernel from Python, on arrays allocated here: a kernel calling others compiles their code
        # again, inlined, and each array allocated inside a kernel costs 0.1-0.2 s of its first compilation
        squares = np.empty((4, n, n))
        vectors = np.empty((6, n))
        symmetric, diagonal, off_diagonal, v, w = squares[3], *vectors[2:]  # views made once
        second = np.empty(n_matrices)
        for index, matrix in enumerate(stacked):
            _mcc_symmetric(matrix, eps, squares, vectors)
            _tridiagonal(symmetric, diagonal, off_diagonal, v, w)
            second[index] = _tridiagonal_eigenvalue(diagonal, off_diagonal, n - 2)
        return second
    return _mcc_parallel(stacked, eps)


@njit_parallel
def _mcc_parallel(stacked, eps):
    """:func:`_mcc_eigenvalue` of each matrix, one matrix per thread."""
    out = np.empty(stacked.shape[0])
    for index in prange(stacked.shape[0]):
        out[index] = _mcc_eigenvalue(stacked[index], eps)
    return out


@njit
def _mcc_eigenvalue(counts, eps):
    """Second largest eigenvalue of the symmetrised ``Q`` of one GLCM (see :func:`mcc_second_eigenvalues`)."""
    n = counts.shape[0]
    squares = np.empty((4, n, n))
    vectors = np.empty((2, n))
    _mcc_symmetric(counts, eps, squares, vectors)
    return second_largest_eigenvalue(squares[3])


@njit
def _mcc_symmetric(counts, eps, squares, vectors):
    """The symmetric part of ``Px^1/2 Q Px^-1/2`` of one GLCM (see :func:`mcc_second_eigenvalues`).

    ``squares`` (``(4, n, n)``) and ``vectors`` (at least 2 rows of ``n``)
    are work space, overwritten; ``squares[3]`` holds the result.
    """
    n = counts.shape[0]
    total = counts.sum()
    p = squares[0]
    weighted = squares[1]
    q = squares[2]
    symmetric = squares[3]
    px = vectors[0]
    py = vectors[1]
    for i in range(n):  # element by element: an array expression costs a compilation more
        px[i] = 0.0
        py[i] = 0.0
        for j in range(n):
            p[i, j] = counts[i, j] / total
            symmetric[i, j] = 0.0
    for i in range(n):
        for j in range(n):
            px[i] += p[i, j]
            py[j] += p[i, j]
    for i in range(n):
        for k in range(n):
            weighted[i, k] = p[i, k] / (px[i] * py[k] + eps)
    _row_products(weighted, p, q)
    for i in range(n):
        if px[i] == 0.0:
            continue
        for j in range(i, n):
            if px[j] == 0.0:
                continue
            ratio = np.sqrt(px[i] / px[j])
            value = 0.5 * (ratio * q[i, j] + q[j, i] / ratio)
            symmetric[i, j] = value
            symmetric[j, i] = value


@njit
def _row_products(a, b, out):
    """``a @ b.T`` for square matrices into ``out``: the dot products of rows, two rows of each at a time.

    Each pair of rows of ``b`` loaded serves two rows of ``a`` (four
    vectorised dot products in one loop); every dot product runs over ``k``
    as a single one would.
    """
    n = a.shape[0]
    even = n - n % 2
    for i in range(0, even, 2):
        a0 = a[i]
        a1 = a[i + 1]
        for j in range(0, even, 2):
            b0 = b[j]
            b1 = b[j + 1]
            s00 = 0.0
            s01 = 0.0
            s10 = 0.0
            s11 = 0.0
            for k in range(n):
                s00 += a0[k] * b0[k]
                s01 += a0[k] * b1[k]
                s10 += a1[k] * b0[k]
                s11 += a1[k] * b1[k]
            out[i, j] = s00
            out[i, j + 1] = s01
            out[i + 1, j] = s10
            out[i + 1, j + 1] = s11
    for i in range(n):
        for j in range(even, n) if i < even else range(n):
            value = 0.0
            for k in range(n):
                value += a[i, k] * b[j, k]
            out[i, j] = value


@njit
def second_largest_eigenvalue(symmetric):
    """Second largest eigenvalue of a symmetric matrix (n >= 2; only its lower triangle is read; overwritten).

    Householder reduction to tridiagonal form, then bisection on the Sturm
    sequence count (no LAPACK call: OpenBLAS worker threads that spin after a
    call slow down the next numba parallel region on few cores). Accurate to
    about ``1e-15`` times the largest absolute eigenvalue.
    """
    n = symmetric.shape[0]
    vectors = np.empty((4, n))
    _tridiagonal(symmetric, vectors[0], vectors[1], vectors[2], vectors[3])
    return _tridiagonal_eigenvalue(vectors[0], vectors[1], n - 2)


@njit
def _tridiagonal(a, diagonal, off_diagonal, v, w):
    """Diagonal and sub-diagonal of a tridiagonal matrix similar to the symmetric ``a`` (overwritten).

    Written into ``diagonal`` and ``off_diagonal[:n - 1]``; ``v`` and ``w`` (length ``n``) are work space.

    Each step ``k`` applies the reflection ``H = I - beta v v^T`` that maps
    column ``k`` below the diagonal onto its first entry, as ``a <- H a H``
    written as the rank-2 update ``a - v w^T - w v^T`` of the trailing block.
    Only the lower triangle is read and updated (row by row through views,
    so that the inner loops vectorise): the product ``a v`` takes from row
    ``i`` both ``sum_{j <= i} a_ij v_j`` for ``i`` and ``a_ij v_i`` for each
    ``j < i``.
    """
    n = a.shape[0]
    for k in range(n - 1):
        off_diagonal[k] = 0.0
    for k in range(n - 2):
        m = k + 1
        norm2 = 0.0
        for i in range(m, n):
            norm2 += a[i, k] * a[i, k]
        diagonal[k] = a[k, k]
        if norm2 == 0.0:
            continue
        norm = np.sqrt(norm2)
        head = a[m, k]
        alpha = -norm if head >= 0.0 else norm
        v[m] = head - alpha
        for i in range(m + 1, n):
            v[i] = a[i, k]
        beta = 2.0 / (norm2 - head * head + v[m] * v[m])
        for i in range(m, n):
            w[i] = 0.0
        for i in range(m, n):
            row = a[i, m:i + 1]
            v_head = v[m:i + 1]
            w_head = w[m:i]
            v_i = v[i]
            value = 0.0
            for j in range(i - m):
                value += row[j] * v_head[j]
                w_head[j] += row[j] * v_i
            w[i] += value + row[i - m] * v_i
        v_dot_p = 0.0
        for i in range(m, n):
            w[i] *= beta
            v_dot_p += v[i] * w[i]
        half = 0.5 * beta * v_dot_p
        for i in range(m, n):
            w[i] -= half * v[i]
        for i in range(m, n):
            row = a[i, m:i + 1]
            v_head = v[m:i + 1]
            w_head = w[m:i + 1]
            v_i = v[i]
            w_i = w[i]
            for j in range(i - m + 1):
                row[j] -= v_i * w_head[j] + w_i * v_head[j]
        off_diagonal[k] = alpha
    if n >= 2:
        diagonal[n - 2] = a[n - 2, n - 2]
        off_diagonal[n - 2] = a[n - 1, n - 2]
    diagonal[n - 1] = a[n - 1, n - 1]


@njit
def _tridiagonal_eigenvalue(diagonal, off_diagonal, rank):
    """Eigenvalue number ``rank`` (0 = smallest) of a symmetric tridiagonal matrix, by bisection.

    The count of eigenvalues below ``x`` is the number of negative pivots of
    the LDL^T factorisation of ``T - x I`` (Sturm sequence).
    """
    n = diagonal.size
    low = np.inf
    high = -np.inf
    for i in range(n):
        radius = 0.0
        if i > 0:
            radius += abs(off_diagonal[i - 1])
        if i < n - 1:
            radius += abs(off_diagonal[i])
        low = min(low, diagonal[i] - radius)
        high = max(high, diagonal[i] + radius)
    scale = max(abs(low), abs(high))
    tolerance = 4.0 * np.finfo(np.float64).eps * max(scale, 1e-300)
    pivot_floor = np.finfo(np.float64).eps * max(scale, 1e-300)
    while high - low > tolerance:
        middle = 0.5 * (low + high)
        if middle <= low or middle >= high:
            break
        below = 0
        pivot = 1.0
        for i in range(n):
            coupling = off_diagonal[i - 1] * off_diagonal[i - 1] if i > 0 else 0.0
            pivot = diagonal[i] - middle - coupling / pivot
            if abs(pivot) < pivot_floor:
                pivot = -pivot_floor
            if pivot < 0.0:
                below += 1
        if below > rank:
            high = middle
        else:
            low = middle
    return 0.5 * (low + high)
