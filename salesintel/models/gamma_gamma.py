"""Gamma-Gamma spend model (Fader & Hardie 2013, "The Gamma-Gamma model of monetary value"): a customer's
order values are Gamma(p, nu) with nu ~ Gamma(q, gamma) across customers. Fitted on customers with at least
one repeat purchase, from their number of repeat purchases ``x`` and the mean value ``m`` of those purchases.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import optimize, special

from salesintel.errors import InsufficientData, NotFitted


@dataclass
class GammaGamma:
    """Fitted Gamma-Gamma parameters.

    Example:
        >>> m = GammaGamma(p=6.25, q=3.74, gamma=15.44)
        >>> round(float(m.expected_spend(1, 20.0)), 2)  # shrunk towards the population mean
        24.64
    """

    p: float = float("nan")
    q: float = float("nan")
    gamma: float = float("nan")
    log_likelihood: float = float("nan")
    n_customers: int = 0

    @classmethod
    def fit(cls, x, m) -> "GammaGamma":
        x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
        keep = (x > 0) & (m > 0)
        x, m = x[keep], m[keep]
        if len(x) < 3:
            raise InsufficientData("the spend model needs at least 3 customers with a paid repeat purchase")
        scale = float(np.mean(m))

        def nll(theta):
            p, q, g = np.exp(theta)
            return -np.mean(_loglik(p, q, g, x, m / scale))

        res = optimize.minimize(nll, np.zeros(3), method="L-BFGS-B", bounds=[(-12, 12)] * 3)
        p, q, g = np.exp(res.x)
        # the likelihood of m/scale differs from that of m by the Jacobian: report the one on the raw data
        ll = float(np.sum(_loglik(p, q, g * scale, x, m)))
        return cls(p=float(p), q=float(q), gamma=float(g * scale), log_likelihood=ll, n_customers=int(len(x)))

    def expected_spend(self, x, m) -> np.ndarray:
        """E[value of an order | x, m]: the population mean for x = 0, a weighted mix with m otherwise."""
        if not np.isfinite(self.p):
            raise NotFitted("the spend model has not been fitted")
        x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
        p, q, g = self.p, self.q, self.gamma
        population = p * g / (q - 1) if q > 1 else np.nan
        with np.errstate(invalid="ignore", divide="ignore"):
            individual = (g + m * x) * p / (p * x + q - 1)
        return np.where(x > 0, individual, population)

    def params(self) -> dict:
        return asdict(self)


def _loglik(p, q, g, x, m) -> np.ndarray:
    return (special.gammaln(p * x + q) - special.gammaln(p * x) - special.gammaln(q) + q * np.log(g)
            + (p * x - 1) * np.log(m) + p * x * np.log(x) - (p * x + q) * np.log(g + m * x))
