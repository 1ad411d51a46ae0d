"""The sandbox behind a real loopback HTTP server, for ``realserver`` tests and benchmarks.

``runserver`` runs in a subprocess with its own database connection, so it cannot see a
pytest-django test database: give it a database of its own, e.g. ``migrated_sqlite_url``.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
SETTINGS = "thinkalike.settings_test"
START_TIMEOUT, STOP_TIMEOUT = 20.0, 10.0
_direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy


def _env(database_url: str, extra: dict | None = None) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": SETTINGS,
            "THINKALIKE_SANDBOX": "1", "PYTHONUNBUFFERED": "1", **(extra or {})}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def manage(*args: str, database_url: str, extra_env: dict | None = None,
           timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``manage.py <args>`` against ``database_url``; raise with its output if it fails."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=PROJECT_DIR, env=_env(database_url, extra_env),
        capture_output=True, text=True, timeout=timeout,
    )
    if result.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result


def migrated_sqlite_url(tmp_path: Path | str) -> str:
    """A fresh SQLite file in ``tmp_path``, migrated by a subprocess; its ``sqlite:///`` URL."""
    path = Path(tmp_path) / "sandbox.sqlite3"
    url = f"sqlite:///{path}"
    manage("migrate", "--noinput", database_url=url)
    return url


def _shell(code: str, *, database_url: str, **arguments) -> str:
    """Run ``code`` in ``manage.py shell`` against ``database_url``, ``ARGS`` bound to
    ``arguments``; return its stdout."""
    prelude = f"import json\nARGS = json.loads({json.dumps(json.dumps(arguments))})\n"
    return manage("shell", "--no-imports", "-c", prelude + code,
                  database_url=database_url).stdout


PROXY_FLIGHT_WORKER = """
import threading
from django.db import connections
from integrations.models import Connection
from integrations.proxy.service import proxy_request
connection = Connection.objects.select_related("user").get(pk=ARGS["connection"])
outcomes, barrier = [], threading.Barrier(ARGS["threads"])

def ask():
    try:
        barrier.wait()
        while time.time() < ARGS["start"]:
            time.sleep(0.001)
        outcomes.append(proxy_request(
            connection=connection, user=connection.user, method="GET", path=ARGS["path"],
            params=[tuple(pair) for pair in ARGS["params"]]).cache)
    except Exception as exc:
        outcomes.append(f"error {type(exc).__name__}: {exc}")
    finally:
        connections.close_all()

threads = [threading.Thread(target=ask) for _ in range(ARGS["threads"])]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps(outcomes))
"""


def proxy_flight(database_url: str, connection_id: int, *, path: str,
                 params: list[tuple[str, str]], threads: list[int], extra_env: dict,
                 lead_seconds: float, timeout: float) -> list[str]:
    """One ``manage.py shell`` process per entry of ``threads``, each with that many threads,
    all asking the proxy for the same answer at one instant (``lead_seconds`` from now, when
    every process is up): the cache outcome (or error) of every ask, for single-flight tests
    and benchmarks."""
    start = time.time() + lead_seconds
    env = _env(database_url, extra_env)
    workers = []
    for count in threads:
        arguments = {"connection": connection_id, "threads": count, "start": start,
                     "path": path, "params": params}
        code = f"import json, time\nARGS = {json.dumps(arguments)}\n{PROXY_FLIGHT_WORKER}"
        workers.append(subprocess.Popen(
            [sys.executable, "manage.py", "shell", "-c", code], cwd=PROJECT_DIR, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outcomes = []
    for worker in workers:
        out, err = worker.communicate(timeout=timeout)
        if worker.returncode:
            raise RuntimeError(f"a single-flight worker failed:\n{err[-3000:]}")
        outcomes += json.loads(out.strip().splitlines()[-1])
    return outcomes


def issue_tokens(database_url: str, *, account: str = "demo-listener",
                 scope: str = "library.read profile.read") -> dict:
    """A fresh grant for the sandbox's own client: ``access_token``, ``refresh_token``..."""
    return json.loads(_shell(  # the JSON is the only line printed
        "from dataclasses import asdict\n"
        "from django.conf import settings\n"
        "from integrations.sandbox import services\n"
        "client, uri = settings.THINKALIKE_SANDBOX_CLIENT_ID, 'http://127.0.0.1/callback'\n"
        "code = services.auth_code_issue(account=ARGS['account'], client_id=client,\n"
        "                                redirect_uri=uri, scope=ARGS['scope'])\n"
        "print(json.dumps(asdict(services.auth_code_redeem(\n"
        "    code=code, client_id=client, redirect_uri=uri, code_verifier=''))))\n",
        database_url=database_url, account=account, scope=scope,
    ))


def create_sandbox_connections(database_url: str, *, accounts: list[str],
                               consent: bool = True) -> list[int]:
    """A new user with a sandbox connection (fresh tokens) per account; their ids, in order.

    An account may be listed twice: two people syncing the same data. With ``consent``, each
    user allows matching, so every stream of the sandbox syncs.
    """
    tokens = [issue_tokens(database_url, account=account) for account in accounts]
    return json.loads(_shell(
        "import uuid\n"
        "from datetime import timedelta\n"
        "from django.contrib.auth import get_user_model\n"
        "from django.utils import timezone\n"
        "from consent.services import consent_set\n"
        "from integrations.models import Connection, Credential\n"
        "ids = []\n"
        "for account, tokens in zip(ARGS['accounts'], ARGS['tokens']):\n"
        "    name = f'live-{uuid.uuid4().hex[:12]}'\n"
        "    user = get_user_model().objects.create_user(username=name,\n"
        "                                                email=f'{name}@example.com')\n"
        "    if ARGS['consent']:\n"
        "        consent_set(user=user, purpose='matching', granted=True)\n"
        "    connection = Connection.objects.create(\n"
        "        user=user, provider='sandbox', external_account_id=account,\n"
        "        account_label=account, auto_sync=False)\n"
        "    Credential.objects.create(\n"
        "        connection=connection, access_token=tokens['access_token'],\n"
        "        refresh_token=tokens['refresh_token'],\n"
        "        expires_at=timezone.now() + timedelta(hours=1))\n"
        "    ids.append(connection.pk)\n"
        "print(json.dumps(ids))\n",
        database_url=database_url, accounts=accounts, tokens=tokens, consent=consent,
    ).strip().splitlines()[-1])


def set_knobs(database_url: str, **changes) -> None:
    """Save sandbox knobs in ``database_url`` (a real save: it restarts revoke counting)."""
    _shell(
        "from integrations.sandbox.models import SandboxKnobs\n"
        "knobs = SandboxKnobs.get()\n"
        "for name, value in ARGS['changes'].items():\n"
        "    assert hasattr(knobs, name), f'SandboxKnobs has no knob {name!r}'\n"
        "    setattr(knobs, name, value)\n"
        "knobs.save()\n",
        database_url=database_url, changes=changes,
    )


class SandboxServer:
    """``with SandboxServer(url) as server:`` runs ``runserver`` (threaded, no reloader) on a
    free loopback port until the block ends; ``server.sandbox_url`` is the sandbox's base."""

    def __init__(self, database_url: str, *, port: int | None = None,
                 extra_env: dict | None = None, nodelay: bool = True):
        self.database_url, self.port = database_url, port or free_port()
        # Stock runserver writes headers and body in two send() calls; on a kept-alive
        # connection Nagle's algorithm then holds the body until the client's delayed ACK,
        # about 40 ms a request. TCP_NODELAY serves the same app without that wait.
        self.nodelay = nodelay
        self.url = f"http://127.0.0.1:{self.port}"
        self.sandbox_url = f"{self.url}/sandbox"
        self.extra_env = extra_env
        self.process: subprocess.Popen | None = None
        self.log_tail = ""  # the end of the server's stderr, kept after it stops
        self._stderr = None

    def __enter__(self) -> "SandboxServer":
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> None:
        env = _env(self.database_url,
                   {"THINKALIKE_SANDBOX_URL": self.sandbox_url, **(self.extra_env or {})})
        # A file, not a pipe: nobody reads the server's log while it runs, and a full pipe
        # would block it. stop() closes it.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
        address = f"127.0.0.1:{self.port}"
        command = ([sys.executable, "-m", "integrations.sandbox.liveserver", address]
                   if self.nodelay else
                   [sys.executable, "manage.py", "runserver", address, "--noreload",
                    "--insecure"])
        self.process = subprocess.Popen(
            command,
            cwd=PROJECT_DIR, env=env, stdout=subprocess.DEVNULL, stderr=self._stderr,
            start_new_session=True,
        )
        try:
            self._wait_until_answering()
        except BaseException:
            self.stop()
            raise

    def _wait_until_answering(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the sandbox server exited with {self.process.returncode}:\n"
                                   f"{self.stderr_tail()}")
            try:
                # Any HTTP answer means it is serving. GET on the token endpoint is a 405 that
                # touches no table: a data-API probe would enter the request log and count
                # towards revoke_after_requests.
                _direct.open(f"{self.sandbox_url}/oauth/token", timeout=1).close()
                return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"the sandbox server did not answer on {self.url} within "
                           f"{START_TIMEOUT:.0f} s:\n{self.stderr_tail()}")

    def stderr_tail(self, chars: int = 3000) -> str:
        if self._stderr is None:
            return self.log_tail[-chars:]
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-chars:]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._stderr is not None:
            self.log_tail = self.stderr_tail()
            self._stderr.close()
            self._stderr = None


def serve_without_nagle(address: str) -> None:
    """``runserver`` (threaded, no reloader, static files served) with TCP_NODELAY on every
    accepted socket."""
    import django
    from django.core.management import call_command
    from django.core.servers.basehttp import WSGIRequestHandler

    django.setup()
    WSGIRequestHandler.disable_nagle_algorithm = True
    # insecure_serving: the static files (htmx) too, as the demo's DEBUG server does, so a
    # browser sees the pages as people do.
    call_command("runserver", address, use_reloader=False, insecure_serving=True)


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    serve_without_nagle(sys.argv[1])
