from __future__ import annotations

from shared.settings import LiveKitSettings, ServiceSettings


class AgentSettings(ServiceSettings, LiveKitSettings):
    # Health/metrics endpoint of the agent process (readiness = registered with LiveKit).
    agent_http_host: str = "127.0.0.1"
    agent_http_port: int = 8081
    # Job processes kept warm for new rooms.
    agent_idle_processes: int = 1
    # Seconds a draining worker waits for running rooms before it exits.
    agent_drain_timeout_s: int = 60
    # Rooms one agent process serves at once (its reported load is rooms / this).
    agent_max_rooms: int = 20
    # Seconds an empty room is kept before the job ends and the session is finalized.
    agent_empty_room_timeout_s: float = 10.0
    api_url: str = "http://127.0.0.1:8000"
    stt_url: str = "http://127.0.0.1:8001"
    diarization_url: str = "http://127.0.0.1:8002"
