"""Clients for calls between services: ``ServiceClient`` (retries, credentials, request ids) and
one typed client per service, which sends and parses the models of ``shared.contracts``. No
code outside these reads another service's JSON by key."""

from shared.clients.base import ServiceClient, ServiceRefused, ServiceUnavailable, file_chunks, tls_context
from shared.clients.diarization import DiarizationClient
from shared.clients.internal_api import InternalApiClient
from shared.clients.stt import SttClient

__all__ = [
    "DiarizationClient",
    "InternalApiClient",
    "ServiceClient",
    "ServiceRefused",
    "ServiceUnavailable",
    "SttClient",
    "file_chunks",
    "tls_context",
]
