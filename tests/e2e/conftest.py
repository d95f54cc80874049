import os

import pytest
from celery import Celery

from tests.support.processes import RedisServer, Worker


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def broker_app(redis_server):
    """A producer-side Celery app for the test process, talking to the test's own Redis."""
    app = Celery("e2e-producer", broker=redis_server.url, set_as_current=False)
    app.conf.update(task_default_queue="cdr", task_serializer="json", accept_content=["json"])
    return app


@pytest.fixture
def worker_env(redis_server, tmp_path, transactional_db, settings):
    db = settings.DATABASES["default"]
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": redis_server.url,
        "CELERY_VISIBILITY_TIMEOUT": "4",
        "CELERY_UNACKED_RESTORE_INTERVAL": "1",
        "CDR_VAR_DIR": str(tmp_path),
    }


@pytest.fixture
def worker(worker_env):
    w = Worker(worker_env)
    w.start()
    yield w
    w.stop()
