"""Reusable Manim pieces of the lesson: theme, layout regions and data-driven components."""

from . import layout, theme
from .bars import ComparedBars, ProbabilityBars
from .curves import CurvePlot, EpochCounter, nice_ceil, nice_step
from .heatmap import BandPlot, Heatmap
from .formula import KDLossFormula, SoftmaxFormula, markup_parts
from .layout import LayoutError, Problem, Region, Regions, check_layout, fit_in, regions, visible_bbox
from .network import NetworkDiagram, display_groups
from .pixels import ImageGallery, PixelImage
from .scatter import AccuracyParamsPlot, DataScatter, format_count
from .table import ResultsTable, format_cell

__all__ = [
    "theme", "layout",
    "Region", "Regions", "regions", "fit_in", "check_layout", "visible_bbox", "LayoutError", "Problem",
    "NetworkDiagram", "display_groups",
    "PixelImage", "ImageGallery",
    "ProbabilityBars", "ComparedBars",
    "CurvePlot", "EpochCounter", "nice_step", "nice_ceil",
    "ResultsTable", "format_cell",
    "AccuracyParamsPlot", "DataScatter", "format_count",
    "Heatmap", "BandPlot",
    "KDLossFormula", "SoftmaxFormula", "markup_parts",
]
