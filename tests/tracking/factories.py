"""Factories of tracking's models. A baseline needs a succeeded run (pass ``run=``): its scenario,
organization, inputs and report come from it; a report needs a baseline (``baseline=``); an
organization's calibration holds a fit of three runs, switched off."""

import datetime as dt

import factory
from django.utils import timezone

from apps.tracking.models import ActualReport, ApprovedBaseline, HashOf, OrganizationCalibration
from apps.tracking.services import report_sha256
from tests.accounts.factories import OrganizationFactory


class ApprovedBaselineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApprovedBaseline

    run = None  # required: a succeeded PlanRun
    organization = factory.SelfAttribute("run.organization")
    scenario = factory.SelfAttribute("run.scenario")
    inputs = factory.SelfAttribute("run.inputs")
    report = factory.SelfAttribute("run.result")
    core_version = factory.SelfAttribute("run.core_version")
    approved_by = factory.SelfAttribute("run.created_by")
    approved_by_name = factory.LazyAttribute(lambda o: o.approved_by.get_username())
    approved_at = factory.LazyFunction(timezone.now)
    pdf_sha256 = factory.LazyAttribute(lambda o: report_sha256(o.report))
    hash_of = HashOf.REPORT


class ActualReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ActualReport

    baseline = None  # required: an ApprovedBaseline
    organization = factory.SelfAttribute("baseline.organization")
    scenario = factory.SelfAttribute("baseline.scenario")
    date = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=7))
    tokens_trained = 1e10
    elapsed_days = 7.0
    gpu_hours = 40_000.0
    interruptions = 1
    loss_spikes = 0
    spend = factory.LazyFunction(lambda: {"gpu_compute": "1000000.00"})
    spend_currency = factory.LazyAttribute(lambda o: o.scenario.program.currency)
    currency = factory.SelfAttribute("spend_currency")
    source = ActualReport.Source.API


class OrganizationCalibrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrganizationCalibration

    organization = factory.SubFactory(OrganizationFactory)
    enabled = False
    fitted = factory.LazyFunction(
        lambda: {
            "runs": 3,
            "days": 240.0,
            "throughput_factor": 0.85,
            "throughput_interval": [0.78, 0.93],
            "failure_factor": 1.4,
            "failure_interval": [1.1, 1.8],
            "baselines": [],
        }
    )
    fitted_at = factory.LazyFunction(timezone.now)
