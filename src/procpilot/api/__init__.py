"""The HTTP API: a FastAPI app factory over the services."""
