"""Use cases: everything the API, the web app and the CLI may call, one room per use case.

platform/       the wiring: Settings, the Container that builds every service, logging, metrics,
                idempotent POSTs, the demo's accounts
access/         who the caller is: accounts, passwords, sessions, API keys, login lockout
conversations/  one message in, replies out (``messages``); conversations as people reach them (``chats``)
processes/      what waits and runs later: approvals decided, process instances, durable
                processes, timers, schedules, the worker and the in-process runtime
packs/          the packs served (``catalog``), validating and starting packs, conversation tests,
                flow diagrams, the new-pack template
models/         which model serves which use and its usage; intent classifiers trained and promoted
knowledge       documents ingested, searched and answered from
"""
