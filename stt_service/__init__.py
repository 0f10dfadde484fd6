"""Intrascribe speech-to-text service."""

__version__ = "0.1.0"
