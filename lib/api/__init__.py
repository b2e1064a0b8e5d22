"""The edge's typed values: request bodies parsed into models, answers turned into wire documents.
The top layer: it may import features; nothing below imports it."""
