import os

# Idle OpenMP threads spin only briefly before they sleep: spinning torch threads take the cores
# from the STT service running beside it in a batch job, while sleeping at once
# (OMP_WAIT_POLICY=PASSIVE, or GOMP_SPINCOUNT=0) makes CAM++'s many small operations 2x slower.
# 1000 spins keep the full speed alone (RTF 0.034 short files / 0.033 11 min, as with 10 000)
# and take less from STT: a 10-minute batch job 63 s with 10 000, 57 s with 1000 (docs/decisions.md).
# Set before torch loads.
os.environ.setdefault("GOMP_SPINCOUNT", "1000")

from diarization_service.app import create_app
from diarization_service.settings import DiarizationSettings
from shared.service import serve

settings = DiarizationSettings()
serve(create_app(settings), settings.diarization_host, settings.diarization_port)
