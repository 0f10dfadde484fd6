from diarization_service.app import create_app
from diarization_service.settings import DiarizationSettings
from shared.service import serve

settings = DiarizationSettings()
serve(create_app(settings), settings.diarization_host, settings.diarization_port)
