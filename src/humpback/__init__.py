"""humpback: a research harness for instruction backtranslation (Li et al., 2023)."""

__version__ = "0.1.0"
