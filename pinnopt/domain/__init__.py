"""Domains, boundary pieces, regions and samplers."""

from .base import Domain, MappedRegion, Region
from .box import Box, Face, Interval, PeriodicPair, Product, ProductPiece, face_of
from .csg import Difference, Intersection, Union
from .nowhere import NoCoordinates
from .regions import Interior, PieceUnion, Points, Side
from .samplers import SAMPLERS, Grid, Halton, LatinHypercube, Sampler, Sobol, Uniform, resolve_sampler
from .sampling import Collocation, PointSource
from .shapes import Ball, Disk, Polygon, Segment, Sphere

__all__ = [
    "SAMPLERS",
    "Ball",
    "Box",
    "Collocation",
    "Difference",
    "Disk",
    "Domain",
    "Face",
    "Grid",
    "Halton",
    "Interior",
    "Intersection",
    "Interval",
    "LatinHypercube",
    "MappedRegion",
    "NoCoordinates",
    "PeriodicPair",
    "PieceUnion",
    "PointSource",
    "Points",
    "Polygon",
    "Product",
    "ProductPiece",
    "Region",
    "Sampler",
    "Segment",
    "Side",
    "Sobol",
    "Sphere",
    "Uniform",
    "Union",
    "face_of",
    "resolve_sampler",
]
