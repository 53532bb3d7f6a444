"""What waits and runs later: approvals, process instances, durable processes, timers, schedules, workers."""
