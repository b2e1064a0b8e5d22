"""The one Microsoft Graph client of Slotbridge (see `client.GraphClient`)."""

from .batch import BatchRequest, BatchResult
from .client import GraphClient, GraphResponse
from .errors import (
    GraphAccessDenied,
    GraphAuthError,
    GraphBadRequest,
    GraphConflict,
    GraphError,
    GraphForeignLink,
    GraphGone,
    GraphNotFound,
    GraphOutcomeUnknown,
    GraphThrottled,
    GraphUnavailable,
    calendar_gone,
)
from .paging import DeltaResult

__all__ = [
    "BatchRequest",
    "BatchResult",
    "DeltaResult",
    "GraphAccessDenied",
    "GraphAuthError",
    "GraphBadRequest",
    "GraphClient",
    "GraphConflict",
    "GraphError",
    "GraphForeignLink",
    "GraphGone",
    "GraphNotFound",
    "GraphOutcomeUnknown",
    "GraphResponse",
    "GraphThrottled",
    "GraphUnavailable",
    "calendar_gone",
]
