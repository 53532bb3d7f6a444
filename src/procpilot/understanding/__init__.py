"""Understanding: turning a message into commands.

The port is one method, ``understand(text, expectation) -> list[Command]``. This package ships the
rule-based implementation (examples and keywords from the pack, slot extractors built on
dateparser, rapidfuzz and phonenumbers); a trained classifier or an LLM command generator
implements the same port.
"""

from procpilot.understanding.rules import RuleUnderstanding

__all__ = ["RuleUnderstanding"]
