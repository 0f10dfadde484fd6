"""Intrascribe LiveKit agent: joins session rooms and transcribes every participant."""

__version__ = "0.1.0"
