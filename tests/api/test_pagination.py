"""Pages of lists: a wrong page or page size is a 400 naming it, never silently the default."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_page_size_and_page_walk_the_list(reader, scenario):
    url = reverse("api:dataset-list")
    total = reader.get(url).json()["count"]
    assert total >= 2
    first = reader.get(url, {"page_size": 1}).json()
    second = reader.get(url, {"page_size": 1, "page": 2}).json()
    assert len(first["results"]) == len(second["results"]) == 1
    assert first["results"][0]["id"] != second["results"][0]["id"]
    assert first["next"] and second["previous"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=", "page"),  # found by schemathesis: was page 1
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=last", "page"),
        ("page=1&page=2", "page"),
        ("page_size=", "page_size"),
        ("page_size=0", "page_size"),
        ("page_size=501", "page_size"),
        ("page_size=1e3", "page_size"),
    ],
)
def test_a_bad_page_is_a_400_naming_it(reader, scenario, query, field):
    response = reader.get(f"{reverse('api:dataset-list')}?{query}")
    assert response.status_code == 400, query
    assert field in response.json()["error"]["fields"]


def test_a_page_past_the_end_is_a_404(reader, scenario):
    assert reader.get(reverse("api:dataset-list"), {"page": 99}).status_code == 404
