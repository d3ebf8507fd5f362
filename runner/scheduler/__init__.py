"""Scheduled reconciliation: `runner schedule`, `runner halt` and `runner resume`.

- `daemon`   PlaybookScheduler: APScheduler 3.x jobs, misses reported, backoff, reload, signals
- `once`     run_once: every playbook once, worst exit code (for cron, timers, CronJobs)
- `runs`     RunReport, the production reconcile, RunBook (halt marker, account lock, journal)
- `triggers` PlaybookTrigger: cron or interval, jitter without drift, coalesced runs counted
- `cron`     crontab strings as APScheduler triggers (weekday numbering, day OR weekday)
- `catalog`  playbook files watched by mtime and hash, validated before use
- `timing`   misfire grace, jitter, backoff, worst exit code (pure)
- `halt`     emergency-stop markers in the state directory
- `logs`, `metrics`  JSON/text event logs; Prometheus metrics and /healthz on 127.0.0.1

The scheduler library is untyped and has traps (see shared STYLE notes): it is imported only
inside this package. This package imports nothing of it at import time, so `runner apply`
can call `apply_halt_marker` without loading it.
"""

from runner.scheduler.halt import (
    HaltMarker,
    apply_halt_marker,
    halt_marker_path,
    halt_playbook,
    halted_playbooks,
    read_halt_marker,
    resume_playbook,
)

__all__ = [
    "HaltMarker",
    "apply_halt_marker",
    "halt_marker_path",
    "halt_playbook",
    "halted_playbooks",
    "read_halt_marker",
    "resume_playbook",
]
