"""The ``procpilot`` command."""
