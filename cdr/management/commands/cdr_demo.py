"""`make run`: the whole pipeline on the embedded default, fed by the built-in gateway simulator.

Migrates, prints an admin login, drives simulated calls through the real CeleryLifecycleSink
(tasks run in-process when no broker is configured) and, as a gateway in another process would,
over the HTTP ingestion API (``HttpGateway``, as the gateway ``demo-http``), closes stale calls
every minute, and serves the admin. ``--calls N --no-serve`` runs N calls as fast as possible
through the sink and prints a summary.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.core.servers.basehttp import get_internal_wsgi_application

from cdr import simulator
from cdr.models import Call, Gateway, Recording
from cdr.services import calls_expire
from cdr.services.gateways import gateway_create, secret_decrypt, tenant_ids_clean
from cdr.simulator.audio import sn3_conversation
from cdr.simulator.http_gateway import HttpGateway
from cdr.simulator.values import LARGE_TENANT
from cdr.sinks import lifecycle_sink_from_settings, recording_sink_from_settings

# Mean gap between the starts of the first batch's calls (s), and how long before now the last
# of them starts, so that every call of the batch has ended (the longest: a transfer, ~25 min).
INTERARRIVAL = 2.0
CALLS_OVER_AFTER = 1800
LIVE_BATCH = 40


def ensure_admin() -> tuple[str, str]:
    """An admin login that survives restarts: the password lives in var/admin-password.txt."""
    path = settings.VAR_DIR / "admin-password.txt"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(12) + "\n")
        path.chmod(0o600)
    password = path.read_text().strip()
    user, _ = get_user_model().objects.get_or_create(username="admin", defaults={"email": "admin@localhost"})
    user.is_staff = user.is_superuser = True
    user.set_password(password)
    user.save()
    return "admin", password


def gateway_name() -> str:
    return "demo-http"


def demo_gateway(addr: str, clock: Any) -> HttpGateway:
    """The demo's HTTP gateway, allowed every tenant the simulator uses; its secret is kept in the
    database (encrypted, as for any gateway), so the same gateway serves every restart."""
    tenants = tenant_ids_clean([*range(1, 21), LARGE_TENANT])  # simulator.generate's: 1..20 and a 2**40 one
    gateway = Gateway.objects.filter(name=gateway_name(), active=True).first()
    secret = secret_decrypt(gateway.secret_encrypted) if gateway is not None else None
    if gateway is None or secret is None:  # none yet, or SECRET_KEY changed: a new one
        Gateway.objects.filter(name=gateway_name()).update(name=f"{gateway_name()}-{secrets.token_hex(3)}")
        issued = gateway_create(name=gateway_name(), tenant_ids=tenants)
        gateway, secret = issued.gateway, issued.secret
    elif gateway.tenant_ids != tenants:
        Gateway.objects.filter(pk=gateway.pk).update(tenant_ids=tenants)
    return HttpGateway(f"http://{addr}", gateway.key_id, secret, clock=clock)


class Command(BaseCommand):
    help = "Run the CDR pipeline with the gateway simulator and serve the admin (make run)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--calls", type=int, default=0, help="simulate N calls, then stop (0 = forever)")
        parser.add_argument("--rate", type=float, default=2.0, help="new calls per second while serving")
        parser.add_argument("--no-serve", action="store_true", help="do not start the web server")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        # Calls run faster than their planned times are stamped with those times (one clock per
        # call: ringing, answer and end agree); the live traffic below runs in real time.
        self.clock = simulator.SimClock()
        sink = lifecycle_sink_from_settings(clock=self.clock)
        if options["calls"]:
            self.batch(sink, options["calls"])
            if options["no_serve"]:
                return
        username, password = ensure_admin()
        stop = threading.Event()
        threading.Thread(target=self.traffic, args=(sink, options["rate"], stop), daemon=True).start()
        gateway = demo_gateway(options["addr"], self.clock)
        threading.Thread(target=self.http_traffic, args=(gateway, options["rate"] / 4, stop), daemon=True).start()
        threading.Thread(target=self.sweeper, args=(stop,), daemon=True).start()
        self.stdout.write(
            self.style.SUCCESS(
                f"\nCDR admin: http://{options['addr']}/admin/  login: {username}  password: {password}\n"
                f"Database: {settings.DATABASES['default']['NAME']}  (simulated calls arrive continuously, "
                f"through the in-process sink and over HTTP as the gateway {gateway_name()!r})\n"
            )
        )
        self.stdout.flush()
        if options["verbosity"] < 2:  # the gateway posts every 0.2 s: log requests only when they fail
            get_internal_wsgi_application()  # its import configures logging again: first, then quieten
            logging.getLogger("django.server").setLevel(logging.WARNING)
        try:
            call_command("runserver", options["addr"], use_reloader=False)
        finally:
            stop.set()
            sink.close(timeout=10)
            gateway.close(timeout=5)

    def batch(self, sink: Any, n: int) -> None:
        # Real durations, as if the calls had arrived over the last hours: all over before now.
        base = datetime.now(UTC) - timedelta(seconds=n * INTERARRIVAL + CALLS_OVER_AFTER)
        calls = simulator.generate(n, seed=secrets.randbits(32), base_time=base, interarrival=INTERARRIVAL)
        recordings = recording_sink_from_settings()
        stats = simulator.run(calls, sink, recordings, threads=4, recording_factory=sn3_conversation, clock=self.clock)
        delivered = sink.close(timeout=60)
        recordings.flush(timeout=60)
        expected = simulator.expected_by_call_id(calls)
        statuses = Counter(Call.objects.filter(call_id__in=expected).values_list("status", flat=True))
        wavs = Recording.objects.filter(call_id__in=expected).exclude(wav_key="").count()
        self.stdout.write(
            f"simulated {n} calls ({stats.total} hook calls in {stats.elapsed:.2f}s); "
            f"stored {sum(statuses.values())} of {len(expected)} call legs: {dict(sorted(statuses.items()))}; "
            f"{wavs} recordings with a playable WAV; "
            f"sink {'flushed' if delivered else 'NOT flushed'}: {sink.stats()}"
        )

    def traffic(self, sink: Any, rate: float, stop: threading.Event) -> None:
        """Live calls in real time (ringing, talking for minutes, ending), ``rate`` new a second."""
        self._live(
            stop,
            rate,
            lambda calls: simulator.run(
                calls,
                sink,
                recording_sink_from_settings(),
                threads=8,
                rate=rate,
                realtime=True,
                recording_factory=sn3_conversation,
            ),
        )

    def http_traffic(self, gateway: HttpGateway, rate: float, stop: threading.Event) -> None:
        self._live(
            stop,
            rate,
            lambda calls: simulator.run(calls, gateway, threads=4, rate=rate, realtime=True, clock=self.clock),
        )

    @staticmethod
    def _live(stop: threading.Event, rate: float, run: Any) -> None:
        """A batch of calls each LIVE_BATCH / rate seconds, each on its own thread: a batch's
        long calls go on talking while the next batch's calls arrive."""
        seed = secrets.randbits(32)
        while not stop.is_set():
            seed += 1
            calls = simulator.generate(LIVE_BATCH, seed=seed, base_time=datetime.now(UTC), interarrival=1 / rate)
            threading.Thread(target=run, args=(calls,), name="cdr-demo-live", daemon=True).start()
            stop.wait(LIVE_BATCH / rate)

    def sweeper(self, stop: threading.Event) -> None:
        while not stop.wait(60):
            calls_expire()
