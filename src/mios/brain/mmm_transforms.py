"""The media mix model's building blocks: geometric adstock, Hill saturation, seasonal features.

Every function works on whole series at once and returns its derivatives beside its value where
the fit needs them, so the optimiser gets an exact Jacobian instead of finite differences.

Adstock is *normalised*: the weights ``decay**l / sum(decay**k)`` over lags ``0..max_lag-1`` sum
to one, so a steady spend ``s`` per period has adstock ``s`` and the half saturation is read in
the same units as spend per period.
"""

from __future__ import annotations

import numpy as np

from mios.types import FloatArray

DAYS_PER_YEAR = 365.25
DAYS_PER_WEEK = 7.0


def adstock_weights(decay: float, max_lag: int) -> tuple[FloatArray, FloatArray]:
    """The normalised carry-over weights (``max_lag``,) and their derivative in ``decay``."""
    lags = np.arange(max_lag, dtype=np.float64)
    powers = decay**lags
    # d/d decay of decay**l is l * decay**(l-1); written without a negative power at decay = 0.
    d_powers = np.zeros(max_lag)
    d_powers[1:] = lags[1:] * decay ** (lags[1:] - 1.0)
    total = powers.sum()
    d_total = d_powers.sum()
    return powers / total, (d_powers * total - powers * d_total) / total**2


def adstock(spend: FloatArray, decay: float, max_lag: int) -> FloatArray:
    """Carried-over spend (T,) from spend (T,): a finite convolution over the last ``max_lag``
    periods; periods before the first row count as zero spend."""
    weights, _ = adstock_weights(decay, max_lag)
    return np.asarray(np.convolve(spend, weights)[: len(spend)], dtype=np.float64)


def adstock_and_gradient(
    spend: FloatArray, decay: float, max_lag: int
) -> tuple[FloatArray, FloatArray]:
    """Adstock (T,) and its derivative in ``decay`` (T,)."""
    weights, d_weights = adstock_weights(decay, max_lag)
    # A direct convolution: for a filter this short it is several times faster than lfilter.
    value = np.asarray(np.convolve(spend, weights)[: len(spend)], dtype=np.float64)
    slope = np.asarray(np.convolve(spend, d_weights)[: len(spend)], dtype=np.float64)
    return value, slope


def hill(x: FloatArray, half_saturation: float, shape: float) -> FloatArray:
    """Hill saturation ``x**shape / (x**shape + half_saturation**shape)`` in [0, 1)."""
    ratio = np.maximum(x, 0.0) / half_saturation
    u = ratio**shape
    return np.asarray(u / (1.0 + u), dtype=np.float64)


def hill_and_gradients(
    x: FloatArray, half_saturation: float, shape: float
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Hill saturation and its derivatives in x, in the half saturation and in the shape."""
    positive = x > 0.0
    ratio = np.where(positive, x, 1.0) / half_saturation
    u = np.where(positive, ratio**shape, 0.0)
    value = u / (1.0 + u)
    du = 1.0 / (1.0 + u) ** 2
    d_x = np.where(positive, du * shape * u / np.where(positive, x, 1.0), 0.0)
    d_half = -du * shape * u / half_saturation
    d_shape = np.where(positive, du * u * np.log(ratio), 0.0)
    return value, d_x, d_half, d_shape


def fourier_features(days: FloatArray, period: float, order: int) -> FloatArray:
    """Sine and cosine pairs (T, 2 * order) of ``days`` over ``period`` days."""
    if order <= 0:
        return np.zeros((len(days), 0))
    k = np.arange(1, order + 1, dtype=np.float64)
    angle = 2.0 * np.pi * np.outer(days, k) / period
    return np.concatenate([np.sin(angle), np.cos(angle)], axis=1)
