"""Probabilistic customer-base models fitted by maximum likelihood.

Non-contractual, continuous time: :class:`BGNBD`, :class:`MBGNBD`, :class:`ParetoNBD`.
Non-contractual, discrete time: :class:`BGBB`. Spend: :class:`GammaGamma`.
Contractual retention: :class:`SBG`, :class:`BdW`.
"""

from .bgnbd import BGNBD, MBGNBD
from .gammagamma import GammaGamma, frequency_spend_correlation

__all__ = ["BGNBD", "MBGNBD", "GammaGamma", "frequency_spend_correlation"]
