"""simlab: a toy-model laboratory for how batch size changes the best optimizer settings, and why.

The public API is flat: ``simlab.simulate``, and the modules ``problems``, ``optim``,
``schedules``, ``theory``.
"""
from . import optim, problems, schedules
from .simulate import make_spec, simulate

__version__ = "0.1.0"
__all__ = ["optim", "problems", "schedules", "simulate", "make_spec", "__version__"]
