"""Migration 0013: the seed-004 scorecard's 服务体验 as the article lists it, without 飞鸽 (Douyin's 2026 rule)."""

import importlib
from decimal import Decimal as D

import pytest
from django.apps import apps

from metrics.models import ScorecardDimension

pytestmark = pytest.mark.django_db
migration = importlib.import_module("metrics.migrations.0013_seed_004_service_experience")


def service():
    return ScorecardDimension.objects.get(
        scorecard__platform__code="douyin", scorecard__version="2024-06-03", name="服务体验"
    )


def weights():
    return {metric.code: metric.weight for metric in service().metrics.all()}


def test_reversing_restores_the_seeded_five_and_applying_again_gives_the_four():
    migration.restore_chat_response(apps, None)
    assert weights() == {
        "refund_only_merchant_time": D(20),
        "return_merchant_time": D(20),
        "rejection_rate": D(20),
        "platform_help_rate": D(20),
        "chat_response_time": D(20),
    }
    assert service().metrics.get(code="chat_response_time").steps.count() == 5

    migration.remove_chat_response(apps, None)

    assert weights() == {
        "refund_only_merchant_time": D(25),
        "return_merchant_time": D(25),
        "rejection_rate": D(25),
        "platform_help_rate": D(25),
    }


def test_weights_someone_edited_are_kept_and_only_feige_goes():
    migration.restore_chat_response(apps, None)
    edited = {
        "refund_only_merchant_time": 10,
        "return_merchant_time": 30,
        "rejection_rate": 20,
        "platform_help_rate": 20,
    }
    for code, weight in edited.items():
        service().metrics.filter(code=code).update(weight=weight)

    migration.remove_chat_response(apps, None)

    assert weights() == {code: D(weight) for code, weight in edited.items()}
