"""A what-if chunk's claim fields (attempts, heartbeat, dispatch; issue 16) are in the backup, and a
backup written before them still restores: they are optional when read."""

from __future__ import annotations

import pytest

from apps.accounts.models import Organization
from apps.programs.backup import backup_dumps, backup_loads, backup_restore, organization_backup
from apps.programs.services import program_create_from_blueprint
from apps.runs.models import SweepChunk
from apps.runs.services import sweep_chunk_execute, sweep_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def swept(owner, organization):
    scenario = program_create_from_blueprint(
        user=owner, organization=organization, key="cpt-7b-domain"
    ).scenarios.get()
    sweep = sweep_create(
        user=owner, scenario=scenario, axes={"gpu_count": [32, 64]}, trials=20, chunk_size=1
    )
    for chunk in sweep.chunks.all():
        sweep_chunk_execute(chunk_id=chunk.pk, worker="w1")
    return organization


def _chunks(document: dict) -> list[dict]:
    return [
        chunk
        for program in document["programs"]
        for scenario in program["scenarios"]
        for sweep in scenario["sweeps"]
        for chunk in sweep["chunks"]
    ]


def test_a_chunks_claim_is_backed_up_and_restored(swept):
    document = backup_loads(backup_dumps(organization_backup(swept)))
    chunks = _chunks(document)
    assert len(chunks) == 2 and all(c["attempts"] == 1 and c["heartbeat_at"] for c in chunks)
    backup_restore(document, into="copy")
    restored = SweepChunk.objects.filter(sweep__organization=Organization.objects.get(slug="copy"))
    assert sorted(restored.values_list("attempts", flat=True)) == [1, 1]


def test_a_backup_written_before_the_claim_fields_still_restores(swept):
    document = backup_loads(backup_dumps(organization_backup(swept)))
    for chunk in _chunks(document):
        for name in ("attempts", "heartbeat_at", "dispatched_at"):
            del chunk[name]
    backup_restore(document, into="older")
    restored = SweepChunk.objects.filter(sweep__organization=Organization.objects.get(slug="older"))
    assert restored.count() == 2
    assert set(restored.values_list("attempts", "heartbeat_at", "dispatched_at")) == {
        (0, None, None)
    }
