"""Keeping the monitor's resident memory flat on long inputs (Linux/glibc; no-ops elsewhere):
malloc tuning, paging out file-backed mappings, and reading the process's resident and peak memory."""

from __future__ import annotations

import os
import resource
import sys


def _tune_malloc() -> None:
    """glibc: large blocks (tensors, long lines) are mmapped and returned to the OS when freed, the
    heap top is trimmed, and malloc arenas are capped (the tokenizer's threads would each get one).
    Measured on the 1 GB bench: peak RSS 403-404 MB over three runs with it, 408-449 MB without."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc
        return
    m_trim_threshold, m_mmap_threshold, m_arena_max = -1, -3, -8
    libc.mallopt(m_mmap_threshold, 1 << 20)
    libc.mallopt(m_trim_threshold, 4 << 20)
    libc.mallopt(m_arena_max, 2)


def release_file_pages() -> None:
    """Linux: ask the kernel to page out this process's file-backed mappings (shared-library code,
    the memory-mapped encoder weights). They stay in the page cache and fault back in when used, so
    only what the monitor really runs stays resident: torch's import and calibration code does
    not. With a hot page cache (a fresh install) these pages alone were 260 MB of the resident set;
    released while the classifiers load and whenever a batch leaves the process above
    RELEASE_ABOVE_MB, the 1 GB bench peaks near 300 MB instead of ~500 MB (docs/monitor.md). No-op
    where madvise(MADV_PAGEOUT) is missing."""
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:  # not glibc
        return
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    madv_pageout = 21  # Linux >= 5.4
    try:
        maps = open("/proc/self/maps").read().splitlines()
    except OSError:
        return
    for line in maps:
        parts = line.split()
        if len(parts) >= 6 and parts[5].startswith("/"):
            start, end = (int(x, 16) for x in parts[0].split("-"))
            libc.madvise(start, end - start, madv_pageout)  # EINVAL on old kernels: nothing happens


RELEASE_ABOVE_MB = 320  # between batches, page out file-backed mappings only once resident memory exceeds this


def resident_mb() -> float:
    try:
        return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def release_when_large() -> None:
    """:func:`release_file_pages` once resident memory passes :data:`RELEASE_ABOVE_MB` (each release
    makes the next batches fault their code back in: doing it every batch tripled the run time)."""
    if resident_mb() > RELEASE_ABOVE_MB:
        release_file_pages()


def peak_rss_mb() -> float:
    """This process's peak resident memory: VmHWM (Linux). Not ru_maxrss, which after fork + exec
    also holds the parent's peak (a monitor started from a big process would report the parent's)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 if sys.platform != "darwin" else 2**20)
