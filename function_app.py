"""The Function App: created here, blueprints registered here, nothing else."""

import azure.functions as func

from functions.health import bp as health_bp
from lib.settings import get_settings

get_settings()  # fail start-up with a message naming any missing or invalid setting

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(health_bp)
