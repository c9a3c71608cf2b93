from django.db import models


class BaseModel(models.Model):
    """Abstract base for the project's models: creation and update timestamps."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
