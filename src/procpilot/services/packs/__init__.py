"""The packs a server serves, and the tooling around them: validation, conversation tests, diagrams, the template."""
