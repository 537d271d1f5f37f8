"""Collocation samplers and adaptive sampling (``po.sample``).

``po.Collocation(interior=4000, sampler=po.sample.Sobol())``;
``po.solve(problem, strategies=[po.sample.RAR(every=500)])``.
"""

from .domain.samplers import Grid, Halton, LatinHypercube, Sampler, Sobol, Uniform
from .losses import PointSet
from .strategies.sampling import RAD, RAR, Resample, SamplingHook

__all__ = [
    "RAD",
    "RAR",
    "Grid",
    "Halton",
    "LatinHypercube",
    "PointSet",
    "Resample",
    "Sampler",
    "SamplingHook",
    "Sobol",
    "Uniform",
]
