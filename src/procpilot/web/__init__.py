"""The web app's templates, static files and interface text (no Python logic lives here)."""

from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
