"""cdr.conf: the app's defaults, merged with the project's values, and the checks over them."""

from __future__ import annotations

from pathlib import Path

import pytest

from cdr.checks import cdr_settings
from cdr.conf import BEAT_SCHEDULE, DEFAULTS, cdr_setting


def _ids(errors):
    return sorted((e.id, e.msg) for e in errors)


def test_a_setting_the_project_does_not_define_is_the_apps_default(settings):
    del settings.CDR_RINGING_TIMEOUT
    del settings.CDR_RECORDINGS
    assert cdr_setting("CDR_RINGING_TIMEOUT") == DEFAULTS["CDR_RINGING_TIMEOUT"] == 600
    recordings = cdr_setting("CDR_RECORDINGS")
    assert recordings["LINK_SECONDS"] == 300
    assert recordings["SPOOL_DIR"] == Path(cdr_setting("CDR_SPOOL_DIR")) / "recordings"


def test_a_dict_setting_may_give_only_the_keys_it_changes(settings, tmp_path):
    settings.CDR_SPOOL_DIR = tmp_path
    settings.CDR_RECORDINGS = {"LINK_SECONDS": 60}
    recordings = cdr_setting("CDR_RECORDINGS")
    assert recordings["LINK_SECONDS"] == 60
    assert recordings["FINISH_TIMEOUT"] == DEFAULTS["CDR_RECORDINGS"]["FINISH_TIMEOUT"]
    assert recordings["SPOOL_DIR"] == tmp_path / "recordings"
    assert set(recordings) == set(DEFAULTS["CDR_RECORDINGS"])


def test_the_gateway_secret_key_defaults_to_the_projects_secret_key(settings):
    settings.CDR_INGEST = {}
    settings.SECRET_KEY = "the-project-key"
    assert cdr_setting("CDR_INGEST")["SECRET_KEY"] == "the-project-key"
    settings.CDR_INGEST = {"SECRET_KEY": "own"}
    assert cdr_setting("CDR_INGEST")["SECRET_KEY"] == "own"


def test_the_projects_settings_pass_the_checks():
    assert cdr_settings() == []


def test_an_unknown_key_fails_at_start_up_naming_it(settings):
    settings.CDR_RECORDINGS = {"LINK_SECOND": 60}
    assert _ids(cdr_settings()) == [("cdr.E003", "CDR_RECORDINGS['LINK_SECOND'] is not a setting of cdr.")]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CDR_RINGING_TIMEOUT", 0, "CDR_RINGING_TIMEOUT must be a positive integer, got 0."),
        ("CDR_RINGING_TIMEOUT", "600", "CDR_RINGING_TIMEOUT must be a positive integer, got '600'."),
        ("CDR_ESTABLISHED_TIMEOUT", True, "CDR_ESTABLISHED_TIMEOUT must be a positive integer, got True."),
        ("CDR_SPOOL_DIR", "", "CDR_SPOOL_DIR must be a directory path, got ''."),
    ],
)
def test_a_wrong_scalar_fails_naming_it(settings, name, value, message):
    setattr(settings, name, value)
    assert _ids(cdr_settings()) == [("cdr.E001", message)]


def test_a_wrong_value_in_a_dict_fails_naming_the_key(settings):
    settings.CDR_LIFECYCLE_SINK = {"FLUSH_SECONDS": -1, "BATCH_EVENTS": 2.5}
    assert _ids(cdr_settings()) == [
        ("cdr.E001", "CDR_LIFECYCLE_SINK['BATCH_EVENTS'] must be a positive integer, got 2.5."),
        ("cdr.E001", "CDR_LIFECYCLE_SINK['FLUSH_SECONDS'] must be a positive number, got -1."),
    ]
    settings.CDR_INGEST = ["MAX_EVENTS"]
    assert ("cdr.E002", "CDR_INGEST must be a dict of " + ", ".join(DEFAULTS["CDR_INGEST"]) + ".") in _ids(
        cdr_settings()
    )


def test_a_project_without_a_recordings_storage_is_told_at_start_up(settings):
    settings.STORAGES = {k: v for k, v in settings.STORAGES.items() if k != "recordings"}
    assert [e.id for e in cdr_settings()] == ["cdr.E004"]


def test_the_beat_schedule_names_registered_tasks_and_the_project_takes_it_whole(settings):
    from project.celery import app

    app.loader.import_default_modules()  # what a worker and beat do at start: autodiscovery
    assert {entry["task"] for entry in BEAT_SCHEDULE.values()} <= set(app.tasks)
    assert settings.CELERY_BEAT_SCHEDULE == BEAT_SCHEDULE


def test_a_project_without_spectacular_as_schema_class_is_warned(settings):
    from cdr.checks import cdr_api_schema

    assert cdr_api_schema() == []
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_SCHEMA_CLASS": "rest_framework.schemas.openapi.AutoSchema",
    }
    assert [w.id for w in cdr_api_schema()] == ["cdr.W001"]


@pytest.mark.parametrize("value", ["2027-06-30", " 2026-01-01 ", "off", "OFF", ""])
def test_the_signature_v1_window_takes_a_date_or_off(settings, value):
    settings.CDR_INGEST = {"SIGNATURE_V1_UNTIL": value}
    assert cdr_settings() == []


@pytest.mark.parametrize("value", ["2027-13-01", "next year", "yes", 20270630])
def test_a_wrong_signature_v1_window_fails_at_start_up_naming_it(settings, value):
    settings.CDR_INGEST = {"SIGNATURE_V1_UNTIL": value}
    assert _ids(cdr_settings()) == [
        (
            "cdr.E001",
            "CDR_INGEST['SIGNATURE_V1_UNTIL'] must be a date (YYYY-MM-DD, the last day signature v1 is accepted) "
            f'or "off", got {value!r}.',
        )
    ]
