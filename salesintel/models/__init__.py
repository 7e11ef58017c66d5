"""Estimators fitted on engine-built features (BG/NBD purchases, Gamma-Gamma spend), with scikit-learn's
contract (see :mod:`salesintel.models.base`) and kept in the store by :mod:`salesintel.models.storage`."""

from salesintel.models.base import Model
from salesintel.models.bgnbd import BGNBD
from salesintel.models.gamma_gamma import GammaGamma

__all__ = ["BGNBD", "GammaGamma", "Model", "MODEL_CLASSES"]

MODEL_CLASSES: dict[str, type[Model]] = {"BGNBD": BGNBD, "GammaGamma": GammaGamma}
