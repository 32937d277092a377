"""SDE approximations of SGD, SignSGD, RMSprop and Adam, as dynamics of the one engine.

``models``: drift/diffusion of the SGD and SignSGD SDEs (exact mini-batch moments or the Gaussian
erf form), run by ``simlab.simulate`` (Euler–Maruyama, sub-steps per optimizer step); ``integrate``:
the same with SDE-style arguments and the record times; ``moments``: exact E f for SGD, its SDE
and (tiny d) SignSGD — the theory twins used by the weak-order tests; ``adaptive``: the RMSprop/Adam
SDEs of Malladi et al. 2022 and Compagnoni et al. 2025 as written in gap_quadratic.md §2.3–2.4.
"""
from .adaptive import adaptive_sde, adaptive_sde_loss, warm_start
from .integrate import integrate
from .models import KINDS, SDEModel, batch_atoms, batch_rows, sgd_sde, signsgd_sde
from .moments import (fitted_order, sgd_discrete_loss, sgd_sde_loss, signsgd_discrete_loss,
                      weak_error, weak_errors)

__all__ = ["KINDS", "SDEModel", "adaptive_sde", "adaptive_sde_loss", "batch_atoms", "batch_rows",
           "fitted_order", "integrate", "sgd_discrete_loss", "sgd_sde", "sgd_sde_loss",
           "signsgd_discrete_loss", "signsgd_sde", "warm_start", "weak_error", "weak_errors"]
