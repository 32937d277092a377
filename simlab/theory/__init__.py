"""Closed forms and exact recursions, no simulation: each is the theory twin of a simulator.

``nqm_exact`` (exact expected loss of SGD/momentum on the quadratics), ``surge`` (Li et al. 2024),
``noise_scale`` (B_simple, B_noise, McCandlish's two-batch estimator), ``implicit_bias``
(Cattaneo & Shigida 2026: C1..C5, C_total); ``memory_correction`` (the exact Appendix A.1 check of
C1..C5) is imported on demand.
"""
from . import implicit_bias, noise_scale, nqm_exact, surge

__all__ = ["implicit_bias", "noise_scale", "nqm_exact", "surge"]
