"""Scheduled reconciliation: `runner schedule`, `runner halt` and `runner resume`.

- `daemon`   PlaybookScheduler: APScheduler 3.x jobs, misses reported, backoff, reload, signals
- `once`     run_once: every playbook once, worst exit code (for cron, timers, CronJobs)
- `runs`     RunReport, the production reconcile, RunBook (halt marker, account lock, journal)

Halt markers themselves live in `runner.halt`: every reconcile reads them, not only these.
- `triggers` PlaybookTrigger: cron or interval, jitter without drift, coalesced runs counted
- `cron`     crontab strings as APScheduler triggers (weekday numbering, day OR weekday)
- `catalog`  playbook files watched by mtime and hash, validated before use
- `timing`   misfire grace, jitter, backoff, worst exit code (pure)
- `logs`, `metrics`  JSON/text event logs; Prometheus metrics and /healthz on 127.0.0.1

The scheduler library is untyped and has traps (see shared STYLE notes): it is imported only
inside this package.
"""
