from shared.service import serve
from stt_service.app import create_app
from stt_service.settings import STTSettings

settings = STTSettings()
serve(create_app(settings), settings.stt_host, settings.stt_port)
