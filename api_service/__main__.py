from api_service.app import create_app
from api_service.settings import APISettings
from shared.service import serve

settings = APISettings()
serve(create_app(settings), settings.api_host, settings.api_port)
