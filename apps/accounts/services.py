from django.conf import settings
from django.db import transaction

from apps.accounts.models import Membership, Organization, User
from apps.common.errors import ApplicationError

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"
DEMO_ORGANIZATION_SLUG = "demo-lab"


@transaction.atomic
def demo_data_load() -> User:
    """Create (or reset) the demo organization and the demo/demo owner of it.

    Development only: refuses when DEBUG is off, so a production database never gets a user
    with a published password.
    """
    if not settings.DEBUG:
        raise ApplicationError("Demo data is only loaded when DEBUG is on.")
    organization, _ = Organization.objects.get_or_create(
        slug=DEMO_ORGANIZATION_SLUG, defaults={"name": "Demo Lab"}
    )
    user, _ = User.objects.get_or_create(
        username=DEMO_USERNAME, defaults={"first_name": "Demo", "last_name": "User"}
    )
    user.set_password(DEMO_PASSWORD)
    user.is_active = True
    user.save()
    Membership.objects.update_or_create(
        user=user, organization=organization, defaults={"role": Membership.Role.OWNER}
    )
    return user
