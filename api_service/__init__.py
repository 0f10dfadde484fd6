"""Intrascribe API service: users, sessions, LiveKit access, summaries, exports, webhooks."""

__version__ = "0.1.0"
