from django.apps import AppConfig


class PortfolioConfig(AppConfig):
    """The home page: every program of the user's organizations at a glance (no models of its
    own; it reads programs, scenarios and the reports stored on runs)."""

    name = "apps.portfolio"
    label = "portfolio"
