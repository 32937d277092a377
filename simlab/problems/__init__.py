"""What is optimized: quadratic problems, the diagonal linear network (minima of varying
sharpness), and (in ``sign_model``) the Gaussian sign-gradient model. ``EXAMPLES``: a small
instance of every kind, by name, that the backend tests run on every backend."""
from .base import SAMPLING_SCHEMES, Problem
from .diagonal_net import DiagonalNetProblem, diagonal_net
from .examples import EXAMPLES, register_example
from .quadratic import (BLOCK_SPECTRA, QuadraticProblem, batch_covariance_factor, block_hessian,
                        block_quadratic, check_batch_size, data_quadratic, gaussian_quadratic,
                        gradient_second_moment, minibatch_covariance, nqm, per_sample_covariance,
                        samples_from_hessian)

__all__ = [
    "BLOCK_SPECTRA", "EXAMPLES", "SAMPLING_SCHEMES", "DiagonalNetProblem", "Problem", "QuadraticProblem", "batch_covariance_factor",
    "block_hessian", "block_quadratic", "check_batch_size", "data_quadratic", "diagonal_net",
    "gaussian_quadratic",
    "gradient_second_moment", "minibatch_covariance", "nqm", "per_sample_covariance",
    "register_example", "samples_from_hessian",
]
