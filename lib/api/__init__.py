"""The HTTP edge's models: requests and answers of the routes, pydantic models with camelCase
aliases. They build the wire shapes from typed feature values and generate openapi.yaml's component
schemas (`lib.api.spec`). Top layer: it may import features; features never import it."""
