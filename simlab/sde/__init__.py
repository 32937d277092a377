"""SDE approximations of SGD, SignSGD, RMSprop and Adam on the quadratic problems.

``models``: drift/diffusion of the SGD and SignSGD SDEs (exact mini-batch moments or the Gaussian
erf form); ``integrate``: Euler–Maruyama ensembles (numpy reference and numba kernel) as labelled
Datasets; ``moments``: exact E f for SGD, its SDE and (tiny d) SignSGD — the theory twins used by
the weak-order tests; ``adaptive``: the RMSprop/Adam SDEs of Malladi et al. 2022 and Compagnoni
et al. 2025 as written in gap_quadratic.md §2.3–2.4.
"""
from .integrate import integrate
from .models import KINDS, SDEModel, batch_atoms, sgd_sde, signsgd_sde
from .moments import (fitted_order, sgd_discrete_loss, sgd_sde_loss, signsgd_discrete_loss,
                      weak_errors)

__all__ = ["KINDS", "SDEModel", "batch_atoms", "fitted_order", "integrate", "sgd_discrete_loss",
           "sgd_sde", "sgd_sde_loss", "signsgd_discrete_loss", "signsgd_sde", "weak_errors"]
