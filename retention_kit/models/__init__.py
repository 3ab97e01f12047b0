"""Probabilistic customer-base models fitted by maximum likelihood.

Non-contractual, continuous time: :class:`BGNBD`, :class:`MBGNBD`, :class:`ParetoNBD`.
Non-contractual, discrete time: :class:`BGBB`. Spend: :class:`GammaGamma`.
Contractual retention: :class:`SBG`, :class:`BdW`.
"""

from .bgbb import BGBB
from .bgnbd import BGNBD, MBGNBD
from .gammagamma import GammaGamma, frequency_spend_correlation
from .paretonbd import ParetoNBD
from .sbg import SBG, BdW

__all__ = [
    "BGBB",
    "BGNBD",
    "MBGNBD",
    "SBG",
    "BdW",
    "GammaGamma",
    "ParetoNBD",
    "frequency_spend_correlation",
]
