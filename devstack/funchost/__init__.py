"""A stand-in for Azure Functions Core Tools (which cannot be installed here): serves the app's
HTTP triggers, fires its timers and feeds its queue triggers. See `host.DevHost`."""

from devstack.funchost.host import DevHost, load_functions

__all__ = ["DevHost", "load_functions"]
