import pytest


@pytest.fixture(autouse=True)
def _forget_known_tenants():
    """The tenant cache outlives a test's database rows; start every test without it."""
    from cdr.services.tenants import tenants_forget

    tenants_forget()
    yield
    tenants_forget()


@pytest.fixture
def local_recordings(settings, tmp_path):
    """Recordings as local files under the test's tmp dir, served by the signed file view."""
    settings.STORAGES = {
        **settings.STORAGES,
        "recordings": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "recordings"), "allow_overwrite": True},
        },
    }
    return tmp_path / "recordings"
