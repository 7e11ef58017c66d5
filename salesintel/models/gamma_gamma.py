"""Gamma-Gamma spend model (Fader & Hardie 2013, "The Gamma-Gamma model of monetary value"): a customer's
order values are Gamma(p, nu) with nu ~ Gamma(q, gamma) across customers. Fitted on customers with at least
one repeat purchase, from their number of repeat purchases ``x`` and the mean value ``m`` of those purchases.
"""

from __future__ import annotations

import numpy as np

from salesintel.errors import InsufficientData
from salesintel.lazy import lazy
from salesintel.models.base import Model, one_blas_thread

optimize, special = lazy("scipy.optimize"), lazy("scipy.special")


class GammaGamma(Model):
    """The Gamma-Gamma spend model.

    Example:
        >>> m = GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
        >>> round(float(m.expected_spend(1, 20.0)), 2)  # shrunk towards the population mean
        24.64
    """

    state = ("p", "q", "gamma", "log_likelihood", "n_customers")

    def __init__(self, penalizer_coef: float = 0.0) -> None:
        self.penalizer_coef = penalizer_coef

    @classmethod
    def from_params(cls, *, p: float, q: float, gamma: float) -> "GammaGamma":
        return cls.from_artifact(
            {
                "kind": cls.__name__,
                "params": {},
                "state": {"p": p, "q": q, "gamma": gamma, "log_likelihood": float("nan"), "n_customers": 0},
            }
        )

    def fit(self, x, m) -> "GammaGamma":
        x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
        keep = (x > 0) & (m > 0)
        x, m = x[keep], m[keep]
        if len(x) < 3:
            raise InsufficientData("the spend model needs at least 3 customers with a paid repeat purchase")
        scale = float(np.mean(m))
        penalty = self.penalizer_coef

        terms = _Terms(x, m / scale)

        def nll(theta):
            value, grad = terms.mean_loglik_and_grad(*np.exp(theta))
            return -value + penalty * np.dot(theta, theta), -grad + 2 * penalty * theta

        # analytic gradients and tight tolerances: the likelihood is flat along a ridge in (q, gamma), and with
        # finite differences a last-digit change in the input moved the fitted parameters in the fifth digit
        with one_blas_thread():
            res = optimize.minimize(
                nll,
                np.zeros(3),
                jac=True,
                method="L-BFGS-B",
                bounds=[(-12, 12)] * 3,
                options={"ftol": 1e-15, "gtol": 1e-11, "maxiter": 2000},
            )
        p, q, g = (float(v) for v in np.exp(res.x))
        self.p_, self.q_, self.gamma_ = p, q, g * scale
        # the likelihood of m/scale differs from that of m by the Jacobian: report the one on the raw data
        self.log_likelihood_ = float(np.sum(_loglik(p, q, g * scale, x, m)))
        self.n_customers_ = int(len(x))
        return self

    def expected_spend(self, x, m) -> np.ndarray:
        """E[value of an order | x, m]: the population mean for x = 0, a weighted mix with m otherwise."""
        self.check_fitted()
        x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
        p, q, g = self.p_, self.q_, self.gamma_
        population = p * g / (q - 1) if q > 1 else np.nan
        with np.errstate(invalid="ignore", divide="ignore"):
            individual = (g + m * x) * p / (p * x + q - 1)
        return np.where(x > 0, individual, population)

    def predict(self, x, m) -> np.ndarray:
        return self.expected_spend(x, m)


class _Terms:
    """The data side of the likelihood, summed once per fit: the terms in log m and log x enter the total
    only through sums, and the log-gamma terms depend on x alone (a few dozen distinct values), so each
    step of the fit costs one log and one division per customer."""

    def __init__(self, x: np.ndarray, m: np.ndarray) -> None:
        self.x, self.mx = x, m * x
        self.n = len(x)
        self.xs, counts = np.unique(x, return_counts=True)
        self.counts = counts.astype(float)
        self.sum_log_m, self.sum_x_log_m = float(np.sum(np.log(m))), float(np.dot(x, np.log(m)))
        self.sum_x_log_x = float(np.dot(x, np.log(x)))

    def mean_loglik_and_grad(self, p, q, g) -> tuple[float, np.ndarray]:
        """mean ln L_i and its gradient in (ln p, ln q, ln gamma)."""
        x, xs, c, n = self.x, self.xs, self.counts, self.n
        psi, lgam = special.digamma, special.gammaln
        log_gm = np.log(g + self.mx)
        px_q = p * x + q
        total = (
            np.dot(c, lgam(p * xs + q) - lgam(p * xs))
            - n * lgam(q)
            + n * q * np.log(g)
            + p * self.sum_x_log_m
            - self.sum_log_m
            + p * self.sum_x_log_x
            - np.dot(px_q, log_gm)
        )
        d_p = np.dot(c * xs, psi(p * xs + q) - psi(p * xs)) + self.sum_x_log_m + self.sum_x_log_x - np.dot(x, log_gm)
        d_q = np.dot(c, psi(p * xs + q)) - n * psi(q) + n * np.log(g) - log_gm.sum()
        d_g = n * q / g - np.sum(px_q / (g + self.mx))
        return total / n, np.array([p * d_p, q * d_q, g * d_g]) / n


def _loglik(p, q, g, x, m) -> np.ndarray:
    return (
        special.gammaln(p * x + q)
        - special.gammaln(p * x)
        - special.gammaln(q)
        + q * np.log(g)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(g + m * x)
    )


def _grad_log_params(p, q, g, x, m) -> np.ndarray:
    """d ln L_i / d (ln p, ln q, ln gamma), one column per customer (checked with scipy's check_grad)."""
    px = p * x
    log_gm = np.log(g + m * x)
    d_p = x * (special.digamma(px + q) - special.digamma(px) + np.log(m) + np.log(x) - log_gm)
    d_q = special.digamma(px + q) - special.digamma(q) + np.log(g) - log_gm
    d_g = q / g - (px + q) / (g + m * x)
    return np.vstack([p * d_p, q * d_q, g * d_g])
