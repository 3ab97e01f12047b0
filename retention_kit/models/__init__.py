"""Probabilistic customer-base models fitted by maximum likelihood."""

from .bgnbd import BGNBD, MBGNBD

__all__ = ["BGNBD", "MBGNBD"]
