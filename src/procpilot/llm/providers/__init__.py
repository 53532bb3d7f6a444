"""Model providers: one module each, all implementing ``procpilot.llm.ChatModel``."""
