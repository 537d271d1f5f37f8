"""Domains, boundary pieces and regions."""

from .base import Domain, Interior, Points, Region
from .box import Face, Interval, Product

__all__ = ["Domain", "Face", "Interior", "Interval", "Points", "Product", "Region"]
