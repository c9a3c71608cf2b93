"""The project's Celery app with every periodic job due each second instead of each minute.

For the fault tests only (``celery -A tests.faults.fast_beat worker --beat``): what the beat
sends is unchanged, so a test sees the real schedule at work without waiting a minute per tick.
"""

from llmplanner.celery import app

app.conf.beat_schedule = {
    name: {**entry, "schedule": 1.0} for name, entry in app.conf.beat_schedule.items()
}
