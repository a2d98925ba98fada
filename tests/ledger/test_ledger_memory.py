"""Memory stays bounded however many photos a site has: each export runs in its own
process on camera-sized originals, and its peak (VmHWM) barely moves from 2 spots to 10.
The 200-spot figures are in benchmarks/ledger.py."""

import json
import subprocess
import sys

import pytest

import ledger_data
from edge_app.store import open_store

CHILD = r"""
import json, sys
from pathlib import Path
def mb(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) / 1024
from edge_app.ledger import build_ledger, write
import edge_app.ledger.xlsx, edge_app.ledger.pdf
from edge_app.store import open_store
data, site, fmt, out, n = sys.argv[1:6]
led = build_ledger(open_store(data), int(site))
led.spots = led.spots[:int(n)]
base = mb("VmRSS:")
write(led, fmt, out)
print(json.dumps({"growth": mb("VmHWM:") - base}))
"""


@pytest.fixture(scope="module")
def big_site(tmp_path_factory):
    if sys.platform != "linux":
        pytest.skip("reads /proc/self/status")
    root = tmp_path_factory.mktemp("bigsite") / "data"
    with open_store(root) as st:
        info = ledger_data.build_site(st, 10, unconfirmed=0, camera_size=(4000, 3000))
    return root, info["site"]


@pytest.mark.parametrize("fmt", ["xlsx", "pdf"])
def test_export_memory_does_not_grow_with_the_number_of_photos(big_site, fmt, tmp_path):
    root, site = big_site
    growth = {}
    for n in (2, 10):
        p = subprocess.run([sys.executable, "-c", CHILD, str(root), str(site), fmt, str(tmp_path / f"{n}.{fmt}"),
                            str(n)], capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr
        growth[n] = json.loads(p.stdout.strip().splitlines()[-1])["growth"]
    # 24 more 12 MP originals (36 MB of pixels each) cost next to nothing more
    assert growth[10] - growth[2] < 20, growth
    assert growth[10] < 120, growth
