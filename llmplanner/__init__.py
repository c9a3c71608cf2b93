"""llmplanner: planning dashboard for LLM training programs.

Deliberately empty: ``python -m llmplanner.simulation`` must not pull in Django or Celery.
The Celery app is loaded by ``apps.common.apps.CommonConfig.ready()`` instead.
"""
