"""nhkit reference runtime: the hash spec nh-spec-v1 in Python, light dependencies only."""

__version__ = "0.1.0"
