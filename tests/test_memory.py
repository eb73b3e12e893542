"""Server processes keep megabyte buffers in the heap: an upload's copies fault no fresh pages."""

from __future__ import annotations

import os
import subprocess
import sys

CYCLES = """
import os, resource, sys
from grants import memory
applied = memory.keep_large_buffers() if sys.argv[1] == "kept" else None
payload = os.urandom(1 << 20)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(100):
    body = payload[1:] + b"x"  # a fresh megabyte, as each copy of an upload is
    part = bytearray(body)
    del body, part
print(applied, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 100)
"""


def faults_per_upload(mode: str, **environ: str) -> tuple[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")} | environ
    out = subprocess.run(
        [sys.executable, "-c", CYCLES, mode], capture_output=True, text=True, env=env, check=True
    )
    applied, faults = out.stdout.split()
    return applied, float(faults)


def test_with_large_buffers_kept_a_megabyte_copy_reuses_memory_instead_of_faulting_in_new_pages():
    applied, faults = faults_per_upload("kept")
    _, faults_by_default = faults_per_upload("default")
    assert applied == "True"  # glibc: the machines this runs on
    assert faults < 16  # a megabyte is 256 pages: reused, not faulted in again
    assert faults_by_default > 200  # what it costs without: every page of both copies, every time


def test_an_operators_own_malloc_setting_is_left_alone():
    applied, _ = faults_per_upload("kept", MALLOC_TRIM_THRESHOLD_="1048576")
    assert applied == "False"
