"""mlscaffold: turn what you build and where it runs into a ready ML project."""

__version__ = "0.1.0"
