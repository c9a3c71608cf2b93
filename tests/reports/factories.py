import factory

from apps.reports.models import Export


class ExportFactory(factory.django.DjangoModelFactory):
    """An export row of a run (pass ``run=``); queued unless told otherwise."""

    class Meta:
        model = Export

    run = None
    organization = factory.LazyAttribute(lambda e: e.run.organization)
    created_by = factory.LazyAttribute(lambda e: e.run.created_by)
    paper = Export.Paper.A4
    language = Export.Language.EN
    content_hash = factory.Sequence(lambda n: f"{n:064x}")
