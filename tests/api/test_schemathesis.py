"""Schemathesis over the whole OpenAPI schema: generated calls (valid and invalid) on every operation, through the
real Django app and PostgreSQL, find no 5xx and no response that the schema does not describe."""

import pytest
import schemathesis
from django.contrib.auth.models import Permission
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from tests.api.rows import fill_shop
from tests.factories import ShopFactory, api_token_for, make_staff

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


# The schema view touches no database, so the schema is read once, when the tests are collected.
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """As Django's test client does: the WSGI handler would close the test's connection (and its transaction) at
    the end of every request."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def caller():
    """A user who may do everything in one shop that holds a few rows of every resource, and sees no other."""
    mine = ShopFactory(code="mine")
    user = make_staff("caller", role="Manager", shops=[mine])
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=["aftersales", "logistics"]))
    fill_shop(mine, 3, user=user)
    fill_shop(ShopFactory(code="theirs"), 2, user=user)
    return {"Authorization": f"Token {api_token_for(user)}"}


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_operation_answers_a_5xx_or_outside_its_schema(case, caller):
    case.call_and_validate(headers=caller, checks=CHECKS)
