"""Statistical models fitted on engine-built features: BG/NBD purchases, Gamma-Gamma spend."""

from salesintel.models.bgnbd import BGNBD
from salesintel.models.gamma_gamma import GammaGamma

__all__ = ["BGNBD", "GammaGamma"]
