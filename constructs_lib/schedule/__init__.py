"""Retraining on a schedule, outside the deploy: ``retrain_on_schedule`` of the jobs
(:mod:`._scheduling`, light), what a job tells its schedule (:mod:`._parts`), the
EventBridge Scheduler schedule (:mod:`._schedule`), and the state machine of the runs
that register their model with the deploy's guarantees (:mod:`._retraining`).

May import: _shared, security, provider, definition, serving, handler. Imported by:
training, tuning. No public names (a job's method makes the schedule).

Load-time promise: the job classes import only :mod:`._scheduling` and
:mod:`._parts`; an app that schedules nothing imports neither :mod:`._schedule`,
:mod:`._retraining` nor ``aws_cdk.aws_scheduler``.
"""
