"""cdr.db.replicas' rules, in process (the real streaming replica: tests/integration/deploy/test_read_replicas.py)."""

from __future__ import annotations

import pytest
from django.core import checks
from django.db import transaction
from django.test import override_settings

from cdr.db.replicas import ReplicaRouter, primary_reads, reading_from, replica_reads
from cdr.models import Call

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)  # not inside the test case's own transaction
def test_reads_go_to_the_chosen_replica_except_inside_a_transaction_or_primary_reads():
    router = ReplicaRouter()
    assert router.db_for_read(Call) is None  # outside replica_reads(): the primary
    with replica_reads("replica_1"):
        assert router.db_for_read(Call) == "replica_1" and reading_from() == "replica_1"
        with primary_reads():
            assert router.db_for_read(Call) is None
        with transaction.atomic():
            assert router.db_for_read(Call) is None  # a write path reads what it writes
        assert router.db_for_read(Call) == "replica_1"
        assert router.db_for_write(Call) == "default"
    assert reading_from() is None


def test_without_a_fit_replica_reads_stay_on_the_primary():
    with override_settings(CDR_READ_REPLICAS={"ALIASES": []}), replica_reads() as alias:
        assert alias is None and ReplicaRouter().db_for_read(Call) is None


@pytest.mark.parametrize(
    ("conf", "routers", "found"),
    [
        ({"ALIASES": ["default"]}, ["cdr.db.replicas.ReplicaRouter"], "is 'default', which is the primary"),
        ({"ALIASES": ["nowhere"]}, ["cdr.db.replicas.ReplicaRouter"], "'nowhere', which is not in DATABASES"),
        ({"ALIASES": ["default"]}, [], "lacks cdr.db.replicas.ReplicaRouter"),
        ({"ALIASES": "replica_1"}, ["cdr.db.replicas.ReplicaRouter"], "must be a list"),
    ],
)
def test_the_checks_refuse_a_replica_list_that_cannot_work(conf, routers, found):
    with override_settings(CDR_READ_REPLICAS=conf, DATABASE_ROUTERS=routers):
        errors = [e for e in checks.run_checks() if e.id == "cdr.E005"]
    assert errors and any(found.replace("is 'default', which", "'default', which") in e.msg for e in errors), errors
