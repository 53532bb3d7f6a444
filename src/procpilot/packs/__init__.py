"""Reading packs from disk: YAML with line numbers, the published JSON Schema, and validation."""
