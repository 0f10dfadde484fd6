"""Intrascribe STT plugin for LiveKit Agents: the self-hosted Intrascribe STT service as an
``stt.STT`` for any ``AgentSession``.

    from livekit.plugins import intrascribe

    session = AgentSession(stt=intrascribe.STT(base_url="http://stt:8001"))
"""

from livekit.agents import Plugin

from .log import logger
from .stt import STT, ResendBuffer, SpeechStream
from .version import __version__

__all__ = ["STT", "ResendBuffer", "SpeechStream", "__version__"]


class IntrascribePlugin(Plugin):
    def __init__(self) -> None:
        super().__init__(__name__, __version__, __package__ or __name__, logger)


Plugin.register_plugin(IntrascribePlugin())
