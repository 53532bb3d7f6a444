"""The wiring: configuration, the container that builds every service, logging, metrics, idempotent POSTs."""
