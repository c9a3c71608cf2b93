from celery import shared_task

from apps.tracking.forecasting import forecast_execute, forecasts_sweep_stale


@shared_task(bind=True, name="tracking.forecast")
def forecast_task(self, forecast_id: int) -> None:  # type: ignore[no-untyped-def]
    """Compute one forecast by id; the answer is stored on its row."""
    forecast_execute(forecast_id=forecast_id, worker=self.request.hostname or "unknown")


@shared_task(name="tracking.sweep_forecasts")
def sweep_forecasts() -> dict[str, int]:
    """Periodic (beat): lost forecasts are sent again, dead ones retried or failed."""
    return forecasts_sweep_stale()
