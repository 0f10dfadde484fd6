import os

# Idle OpenMP threads sleep instead of spinning: spinning torch threads took the cores from the
# STT service running beside it (and from each other), which made a batch job's diarization
# 1.6x and the job as a whole 1.5x slower on 2 cores. Set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from diarization_service.app import create_app
from diarization_service.settings import DiarizationSettings
from shared.service import serve

settings = DiarizationSettings()
serve(create_app(settings), settings.diarization_host, settings.diarization_port)
