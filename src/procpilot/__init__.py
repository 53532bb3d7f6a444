"""procpilot: business processes carried out in conversation.

Business logic is deterministic flows; language models only turn messages into commands.
"""

__version__ = "0.1.0"
