"""The ESP32 device bridge: devices stream PCM over a WebSocket (docs/device-protocol.md); each is
published into its session's LiveKit room as participant ``device-<id>``, where the agent
transcribes it like anyone else."""
