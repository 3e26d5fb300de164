#!/usr/bin/python3
"""What fresh memory costs on this machine: maps SIZE MiB anonymous memory,
touches it (one write a page) and times that, three times in one process,
with 4 KiB pages and with huge pages (MADV_HUGEPAGE).  The first round of
each gets pages the process never had; on a VM whose kernel reports free
pages to the host, those cost a host fault each, and the later rounds show
what the same touch costs on pages the guest still holds.

Usage: bench/first_touch.py [SIZE_MIB]   (default 512)
"""

import mmap
import sys
import time


def touch(size, huge):
    m = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    if huge:
        m.madvise(mmap.MADV_HUGEPAGE)
    t0 = time.perf_counter()
    for i in range(0, size, mmap.PAGESIZE):
        m[i] = 1
    t = time.perf_counter() - t0
    m.close()
    return t


def main():
    mib = int(sys.argv[1]) if len(sys.argv) > 1 else 512
    size = mib << 20
    for huge in (False, True):
        times = [touch(size, huge) for _ in range(3)]
        print(f"{mib} MiB, {'huge' if huge else '4 KiB'} pages, three mappings in turn: "
              + ", ".join(f"{t:.3f} s ({size / 1e9 / t:.2f} GB/s)" for t in times))


if __name__ == "__main__":
    main()
