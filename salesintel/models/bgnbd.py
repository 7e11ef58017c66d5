"""BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): purchases follow a Poisson
process with Gamma(r, alpha) rates while a customer is alive; after each purchase they drop out with a
Beta(a, b) probability.

Inputs per customer: ``x`` repeat purchases, ``t_x`` time of the last purchase and ``T`` the time since the
first purchase (all in one time unit). Customers with equal (x, t_x, T) share one likelihood term, so the fit
takes ``weights`` and a million customers collapse to the distinct triples.
"""

from __future__ import annotations

import numpy as np

from salesintel.errors import InsufficientData
from salesintel.lazy import lazy
from salesintel.models.base import Model, one_blas_thread

optimize, special = lazy("scipy.optimize"), lazy("scipy.special")


class BGNBD(Model):
    """The BG/NBD purchase model.

    Example:
        >>> m = BGNBD.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
        >>> round(float(m.p_alive(2, 30.43, 38.86)), 3)
        0.727
        >>> BGNBD().p_alive(2, 30.43, 38.86)
        Traceback (most recent call last):
        ...
        salesintel.errors.NotFitted: the BGNBD model has not been fitted; call fit first
    """

    state = ("r", "alpha", "a", "b", "log_likelihood", "n_customers")

    def __init__(self, penalizer_coef: float = 0.0) -> None:
        self.penalizer_coef = penalizer_coef  # L2 on the log-parameters, as lifetimes' penalizer (0: plain ML)

    @classmethod
    def from_params(cls, *, r: float, alpha: float, a: float, b: float) -> "BGNBD":
        """A model with known parameters (published ones, or planted in a test)."""
        return cls.from_artifact(
            {
                "kind": cls.__name__,
                "params": {},
                "state": {"r": r, "alpha": alpha, "a": a, "b": b, "log_likelihood": float("nan"), "n_customers": 0},
            }
        )

    def fit(self, x, t_x, T, weights=None) -> "BGNBD":
        """Maximum likelihood over log-parameters (L-BFGS-B); time is rescaled so the optimiser sees O(1) values."""
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
        if w.sum() < 2 or not (x > 0).any():
            raise InsufficientData("BG/NBD needs customers with repeat purchases; there are none before the as-of date")
        scale = max(float(np.max(T)), 1e-9) / 10.0
        penalty = self.penalizer_coef

        terms = _Terms(x, t_x / scale, T / scale)

        def nll(theta):
            ll, grad = terms.loglik_and_grad(*np.exp(theta))
            value = -np.dot(w, ll) / w.sum() + penalty * np.dot(theta, theta)
            return value, -(grad @ w) / w.sum() + 2 * penalty * theta

        # analytic gradients (checked with scipy's check_grad in the tests): one likelihood pass per step
        # instead of five, and tight tolerances so the optimum does not depend on where the search stopped
        fit_options = {
            "method": "L-BFGS-B",
            "jac": True,
            "bounds": [(-12, 12)] * 4,
            "options": {"ftol": 1e-13, "gtol": 1e-9, "maxiter": 1000},
        }
        with one_blas_thread():
            best = optimize.minimize(nll, np.zeros(4), **fit_options)
            if not best.success:  # a second start before giving up on a flat or awkward surface
                retry = optimize.minimize(nll, np.log([0.5, 1.0, 0.5, 2.0]), **fit_options)
                best = retry if retry.fun < best.fun else best
        r, alpha, a, b = (float(v) for v in np.exp(best.x))
        alpha *= scale
        self.r_, self.alpha_, self.a_, self.b_ = r, alpha, a, b
        # the likelihood is a density in time, so report it in the caller's unit, not the rescaled one
        self.log_likelihood_ = float(np.dot(w, _loglik(r, alpha, a, b, x, t_x, T)))
        self.n_customers_ = int(w.sum())
        return self

    def p_alive(self, x, t_x, T) -> np.ndarray:
        """P(still alive | x, t_x, T); 1 for customers without a repeat purchase (they cannot have dropped out)."""
        self.check_fitted()
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        return np.exp(-_log1p_dropout(self.r_, self.alpha_, self.a_, self.b_, x, t_x, T))

    def silence_chance(self, x, t_x, T) -> np.ndarray:
        """P(no purchase from t_x to T | alive, x purchases in t_x): a silence this long at the customer's own
        pace, ((alpha + t_x) / (alpha + T))^(r + x), the Gamma-Poisson posterior of their purchase rate."""
        self.check_fitted()
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        return np.exp((self.r_ + x) * (np.log(self.alpha_ + t_x) - np.log(self.alpha_ + T)))

    def expected_purchases(self, t, x, t_x, T) -> np.ndarray:
        """E[purchases in the next ``t`` time units | x, t_x, T] (equation 10 of the paper)."""
        self.check_fitted()
        r, alpha, a, b = self.r_, self.alpha_, self.a_, self.b_
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        t = np.asarray(t, dtype=float)
        z = t / (alpha + T + t)
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
        head = (a + b + x - 1) / (a - 1)
        body = 1 - np.exp((r + x) * np.log((alpha + T) / (alpha + T + t))) * hyp
        return head * body * np.exp(-_log1p_dropout(r, alpha, a, b, x, t_x, T))

    def predict(self, t, x, t_x, T) -> np.ndarray:
        """Expected purchases in the next ``t`` time units (scikit-learn's name for the main prediction)."""
        return self.expected_purchases(t, x, t_x, T)


class _Terms:
    """The data side of the likelihood, prepared once per fit: the distinct repeat counts (a few dozen),
    so the log-gamma and digamma terms that depend only on x are computed per distinct x, not per row."""

    def __init__(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> None:
        self.x, self.t_x, self.T = x, t_x, T
        self.xs, self.at = np.unique(x, return_inverse=True)
        self.repeat = x > 0
        self.log_b_floor = 1e-300

    def loglik_and_grad(self, r, alpha, a, b) -> tuple[np.ndarray, np.ndarray]:
        """ln L_i and d ln L_i / d (ln r, ln alpha, ln a, ln b), one column per row."""
        x, t_x, T, xs, at = self.x, self.t_x, self.T, self.xs, self.at
        psi = special.digamma
        a1 = (special.gammaln(r + xs) - special.gammaln(r))[at] + r * np.log(alpha)
        a2 = (special.gammaln(a + b) + special.gammaln(b + xs) - special.gammaln(b) - special.gammaln(a + b + xs))[at]
        log_aT, log_at = np.log(alpha + T), np.log(alpha + t_x)
        a3 = -(r + x) * log_aT
        with np.errstate(divide="ignore", invalid="ignore"):
            b_x1 = np.maximum(b + x - 1, self.log_b_floor)
            a4 = np.where(self.repeat, np.log(a) - np.log(b_x1) - (r + x) * log_at, -np.inf)
        top = np.maximum(a3, a4)
        lse = top + np.log(np.exp(a3 - top) + np.exp(a4 - top))
        p3, p4 = np.exp(a3 - lse), np.exp(a4 - lse)  # the shares of 'alive' and 'dropped out after t_x'
        d_r = (psi(r + xs) - psi(r))[at] + np.log(alpha) - p3 * log_aT - p4 * log_at
        d_alpha = r / alpha - (r + x) * (p3 / (alpha + T) + p4 / (alpha + t_x))
        d_a = (psi(a + b) - psi(a + b + xs))[at] + p4 / a
        d_b = (psi(a + b) + psi(b + xs) - psi(b) - psi(a + b + xs))[at] - np.where(self.repeat, p4 / b_x1, 0.0)
        grad = np.vstack([r * d_r, alpha * d_alpha, a * d_a, b * d_b])
        return a1 + a2 + lse, grad


def _loglik(r, alpha, a, b, x, t_x, T) -> np.ndarray:
    """ln L_i, computed as a log-sum-exp of the 'still alive' and 'dropped out after t_x' terms."""
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b) - special.gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x), -np.inf)
    top = np.maximum(a3, a4)
    return a1 + a2 + top + np.log(np.exp(a3 - top) + np.exp(a4 - top))


def _log1p_dropout(r, alpha, a, b, x, t_x, T) -> np.ndarray:
    """ln(1 + [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x)), the denominator of P(alive)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = (
            np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        )
    return np.where(x > 0, np.logaddexp(0.0, log_ratio), 0.0)
