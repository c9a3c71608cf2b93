from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from apps.accounts.models import User
from apps.runs.models import DemoJob


def demo_job_list(*, user: User) -> QuerySet[DemoJob]:
    """Demo jobs of the organizations the user belongs to."""
    return DemoJob.objects.filter(organization__memberships__user=user).select_related(
        "organization", "created_by"
    )


def demo_job_get(*, user: User, job_id: int) -> DemoJob:
    """One demo job, or 404 when it does not exist or belongs to another organization."""
    return get_object_or_404(demo_job_list(user=user), pk=job_id)
