"""Enforcement: turn a decision into state (content, strikes, review tasks)."""
