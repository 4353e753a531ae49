"""Detectors: one module per detector, one small interface for all (base)."""
