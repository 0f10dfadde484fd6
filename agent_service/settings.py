from __future__ import annotations

from shared import security
from shared.settings import LiveKitSettings, ServiceSettings


class AgentSettings(ServiceSettings, LiveKitSettings):
    # Health/metrics endpoint of the agent process (readiness = registered with LiveKit).
    agent_http_host: str = "127.0.0.1"
    agent_http_port: int = 8081
    # Job processes kept warm for new rooms: meetings starting together beyond this wait for a
    # process to start (bench/join: 8 at once with 8 warm, p50 0.8 s; with 2 warm, 2.2 s). Each
    # costs about 10 MB (PSS: they fork with the agent's code imported).
    agent_idle_processes: int = 8
    # Seconds a draining worker waits for running rooms before it exits.
    agent_drain_timeout_s: int = 60
    # Rooms one agent process serves at once (its reported load is rooms / this).
    agent_max_rooms: int = 20
    # Seconds an empty room is kept before the job ends and the session is finalized.
    agent_empty_room_timeout_s: float = 10.0
    api_url: str = "http://127.0.0.1:8000"
    # Where finals, recordings and status changes wait until the API accepts them (one folder per
    # room job); seconds an ending job waits for them before leaving the rest to the sweeper.
    agent_outbox_dir: str = "data/agent-outbox"
    agent_outbox_drain_s: float = 10.0
    stt_url: str = "http://127.0.0.1:8001"
    diarization_url: str = "http://127.0.0.1:8002"
    # Shared room microphones (participants named device-*): an utterance whose voice embedding
    # is at least this similar (cosine) to a known speaker's is theirs, else a new speaker.
    # 0: the diarization service's own figure for its embeddings (0.5 for the embedded engine's
    # CAM++), else 0.5.
    agent_room_mic_speaker_threshold: float = 0.0
    # Chat messages that start with @AGENT_CHAT_HANDLE are questions about the meeting, answered
    # in the chat from the transcript so far.
    agent_chat_handle: str = "notes"
    # Each room job's heartbeat goes to Redis every AGENT_HEARTBEAT_S; the batch worker's watcher
    # dispatches the room again when it stops while people remain (README, "Scaled topology").
    redis_url: str = "redis://127.0.0.1:6379/0"
    agent_heartbeat_s: float = 1.0

    def production_problems(self) -> list[str]:
        return super().production_problems() + security.redis_problems(self.redis_url)


class BridgeSettings(ServiceSettings, LiveKitSettings):
    """The ESP32 device bridge (``python -m agent_service.bridge``), docs/device-protocol.md."""

    bridge_host: str = "127.0.0.1"
    bridge_port: int = 8004
    api_url: str = "http://127.0.0.1:8000"
    # Jitter buffer: wait this long for a missing frame before playing silence in its place.
    bridge_jitter_ms: int = 60
    # Above this much queued audio, quiet frames are dropped (device clock drift, replay backlog).
    bridge_max_queue_ms: int = 120
    # Seconds a device has to send 'hello'; heartbeat interval it is told (3 missed = closed).
    bridge_hello_timeout_s: float = 5.0
    bridge_heartbeat_s: int = 10
    # Seconds the device's room participant stays after its connection drops (a reconnect resumes it).
    bridge_linger_s: float = 30.0
