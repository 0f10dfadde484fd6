"""Intrascribe's own library, used by every service: settings, audio I/O, schemas, service
clients, logging, health and metrics."""
