"""Conversations: one message in, the replies out; conversations as people and systems reach them."""
