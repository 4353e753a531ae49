"""tidebreak: an open-source trust & safety engine."""

__version__ = "0.1.0"
