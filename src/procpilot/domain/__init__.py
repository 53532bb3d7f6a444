"""The pure model: packs, flows, steps, slot types, commands, dialogue state, events, errors.

Nothing here imports the rest of procpilot or any framework (checked by import-linter).
"""
