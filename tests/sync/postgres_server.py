"""A throwaway PostgreSQL server from Debian's `postgresql` package, for the tests."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time

from live_server import free_port


def pg_bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return os.path.dirname(found[-1])
    p = shutil.which("pg_ctl")
    return os.path.dirname(p) if p else None


class Postgres:
    """initdb + pg_ctl start on 127.0.0.1:<free port>, trust auth; as the `postgres` user when
    run as root (PostgreSQL refuses to run as root)."""

    def __init__(self):
        self.bin = pg_bin()
        if self.bin is None:
            raise RuntimeError("PostgreSQL is not installed (Debian: apt-get install postgresql)")
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="edge-app-pg-")
        self.as_root = os.geteuid() == 0
        if self.as_root:
            import pwd

            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *cmd, check=True):
        full = (["runuser", "-u", "postgres", "--"] if self.as_root else []) + list(cmd)
        return subprocess.run(full, capture_output=True, text=True, check=check, timeout=120)

    def start(self) -> "Postgres":
        data = os.path.join(self.dir, "data")
        self._run(f"{self.bin}/initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale")
        self._run(f"{self.bin}/pg_ctl", "-D", data, "-l", os.path.join(self.dir, "log"), "-w", "-t", "60", "-o",
                  f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=on", "start")
        import psycopg

        t0 = time.monotonic()
        while True:
            try:
                psycopg.connect(self.url).close()
                return self
            except psycopg.OperationalError:
                if time.monotonic() - t0 > 30:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        self._run(f"{self.bin}/pg_ctl", "-D", os.path.join(self.dir, "data"), "-m", "immediate", "stop", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)
