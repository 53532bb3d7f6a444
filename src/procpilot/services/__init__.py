"""Use cases: everything the API, the web app and the CLI may call.

Settings             configuration, read once (PROCPILOT_* environment variables)
Container            wires storage, packs, understanding, engine and runtime from Settings
ConversationService  one message in, replies out
ApprovalService      decide an approval; resumes the waiting flow
PackService          list, validate and reload packs
run_pack_tests       a pack's conversation tests
"""
