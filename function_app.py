"""The Function App: created here, its blueprints registered and its features wired (who listens
to whom: `functions/wiring.py`); nothing else."""

import azure.functions as func

from functions.availability import bp as availability_bp
from functions.bookings import bp as bookings_bp
from functions.connections import bp as connections_bp
from functions.graph_notifications import bp as graph_notifications_bp
from functions.health import bp as health_bp
from functions.links import bp as links_bp
from functions.outbox_delivery import bp as outbox_bp
from functions.pages import bp as pages_bp
from functions.sync import bp as sync_bp
from functions.webhooks import bp as webhooks_bp
from functions.wiring import install as install_wiring
from lib.core.settings import get_settings

get_settings()  # fail start-up with a message naming any missing or invalid setting
install_wiring()

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
for blueprint in (
    health_bp,
    connections_bp,
    outbox_bp,
    webhooks_bp,
    links_bp,
    availability_bp,
    bookings_bp,
    graph_notifications_bp,
    sync_bp,
    pages_bp,
):
    app.register_functions(blueprint)
