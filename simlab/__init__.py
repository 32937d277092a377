"""simlab: a toy-model laboratory for how batch size changes the best optimizer settings, and why.

The public API is flat: ``simlab.simulate``, ``simlab.Sweep`` / ``simlab.best_lr``, and the
modules ``problems``, ``optim``, ``schedules``, ``theory`` (closed forms and exact recursions) and
``sde`` (SDE models and Euler–Maruyama).
"""
from . import optim, problems, schedules, sde, theory
from .simulate import make_spec, simulate
from .sweep import Sweep, best_lr, lr_scores, select_lr

__version__ = "0.1.0"
__all__ = ["optim", "problems", "schedules", "sde", "theory", "simulate", "make_spec", "Sweep",
           "best_lr", "lr_scores", "select_lr", "__version__"]
