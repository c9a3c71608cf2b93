import pytest
from django.test import Client
from django.utils import translation

from tests.accounts.factories import MembershipFactory, OrganizationFactory
from tests.fuzzing import load_profile

# Before any test module builds its hypothesis settings: they inherit the profile's defaults.
load_profile()

# Writes what the run did for the gate (scripts/check_tests.py) when LLMPLANNER_TEST_REPORT is set.
pytest_plugins = ["tests.gate_report"]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The real hasher is slow by design; tests do not need that.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def english():
    # A request with a language cookie leaves its language active in the thread; start and end
    # every test in the default language so none depends on the one before.
    translation.activate("en")
    yield
    translation.activate("en")


@pytest.fixture
def organization(db):
    return OrganizationFactory()


@pytest.fixture
def owner(organization):
    return MembershipFactory(organization=organization, role="owner").user


@pytest.fixture
def editor(organization):
    return MembershipFactory(organization=organization, role="editor").user


@pytest.fixture
def viewer(organization):
    return MembershipFactory(organization=organization, role="viewer").user


@pytest.fixture
def outsider(db):
    """A logged-in user of another organization: sees none of ``organization``'s data."""
    return MembershipFactory(role="owner").user


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(owner):
    return login(owner)


@pytest.fixture
def viewer_client(viewer):
    return login(viewer)


@pytest.fixture
def outsider_client(outsider):
    return login(outsider)
