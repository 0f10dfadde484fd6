import os

# Idle OpenMP threads spin only briefly before they sleep: spinning torch threads took the cores
# from the STT service running beside it (a batch job's diarization 1.6x and the job 1.5x slower
# on 2 cores), while sleeping at once (OMP_WAIT_POLICY=PASSIVE) made CAM++'s many small
# operations 2x slower. 10 000 spins (microseconds) keep the full speed. Set before torch loads.
os.environ.setdefault("GOMP_SPINCOUNT", "10000")

from diarization_service.app import create_app
from diarization_service.settings import DiarizationSettings
from shared.service import serve

settings = DiarizationSettings()
serve(create_app(settings), settings.diarization_host, settings.diarization_port)
