"""Reading and validating every certificate file, on every core, reusing the state's cache."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from certsync.certfiles.scan import Entry, list_files, read_file
from certsync.children import die_with_parent
from certsync.config import Limits, Policy
from certsync.findings import Code, Finding, finding
from certsync.records import CertFile, FileFormat
from certsync.revocation import RevocationChecker
from certsync.state.filecache import FileCache
from certsync.trust import TrustStore, load_trust
from certsync.validate import Validator

#: Below this many files a process pool costs more than it saves.
_POOL_MIN_FILES = 400
_CHUNK = 256


@dataclass(frozen=True, slots=True)
class CheckSetup:
    """What a worker needs to validate certificates; plain data so that it pickles."""

    trust_path: Path | None
    policy: Policy
    as_of: datetime
    cache: FileCache | None = None
    """The file cache: unchanged files come from it, newly read ones go to it (by the workers)."""


@dataclass(frozen=True, slots=True)
class Checked:
    """One file as read, with the validation findings of its certificate (not yet attached)."""

    file: CertFile
    checks: tuple[Finding, ...]


class _Worker:
    """Per-process validator, built once (the verifier and CRLs are costly to set up)."""

    validator: Validator | None = None
    cache: FileCache | None = None


def _init_worker(setup: CheckSetup, parent: int = 0) -> None:
    if parent:
        die_with_parent(parent)
    _Worker.validator = make_validator(setup)
    _Worker.cache = setup.cache
    # Ctrl-C reaches the whole process group: only the parent stops the run. A worker
    # interrupted while holding a lock would leave the pool, and the run, waiting for ever.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def make_validator(setup: CheckSetup, trust: TrustStore | None = None) -> Validator:
    """A Validator for the setup; `trust` avoids reloading the bundle in the main process."""
    if trust is None and setup.trust_path is not None:
        trust = load_trust(setup.trust_path)
    revocation = None
    if setup.policy.crl_files or setup.policy.crl_fetch:
        revocation = RevocationChecker(
            setup.policy.crl_files, setup.policy.crl_fetch, setup.as_of, trust
        )
    return Validator(trust, setup.policy, setup.as_of, revocation)


def check_file(cf: CertFile, validator: Validator) -> Checked:
    """Validate the certificate a file holds, if any."""
    if cf.cert is None:
        return Checked(cf, ())
    return Checked(cf, validator.check(cf.cert, cf.chain))


def light(item: Checked) -> Checked:
    """The record kept for the rest of the run: without DER bytes (load_der brings them back).

    At 100,000 files the DERs are 130 MB that nothing after validation needs, except the push,
    which reloads the few it writes.
    """
    cf = item.file
    if cf.cert is None:
        return item
    cert = replace(cf.cert, der=b"")
    chain = tuple(replace(c, der=b"") for c in cf.chain)
    return Checked(replace(cf, cert=cert, chain=chain), item.checks)


def load_der(root: Path, rel: str, sha256: str, limits: Limits) -> bytes | None:
    """The DER of the certificate `sha256` from file `rel`, if the file still holds it."""
    cert = read_file(root, rel, limits).cert
    return cert.der if cert is not None and cert.sha256 == sha256 else None


#: One unit of work: a file's relative path, and its size and date when the cache has it.
Job = tuple[str, int | None, int | None]


def _process(
    root: Path,
    jobs: Sequence[Job],
    limits: Limits,
    validator: Validator,
    cache: FileCache | None,
) -> list[Checked]:
    """Outcomes from the cache for unchanged files, read now for the others; all validated."""
    known = [
        (rel, size, mtime) for rel, size, mtime in jobs if size is not None and mtime is not None
    ]
    cached = cache.get_many(known) if cache is not None and known else {}
    out: list[Checked] = []
    fresh: list[CertFile] = []
    for rel, _size, _mtime in jobs:
        cf = cached.get(rel)
        if cf is None:
            cf = read_file(root, rel, limits)
            fresh.append(cf)
        # Cached outcomes are validated again: the date, the trust store or a CRL may differ.
        out.append(light(check_file(cf, validator)))
    if cache is not None and fresh:
        cache.put_many(fresh)
    return out


def _read_chunk(root: Path, jobs: Sequence[Job], limits: Limits) -> list[Checked]:
    validator = _Worker.validator
    assert validator is not None, "worker not initialised"
    # The cache is read and written here, in parallel: the main process never holds the DERs.
    return _process(root, jobs, limits, validator, _Worker.cache)


def _not_read(entry: Entry, why: Finding) -> CertFile:
    """A folder entry that is reported without being opened (outside the folder, refused)."""
    return CertFile(
        entry.rel,
        entry.size,
        entry.mtime_ns,
        FileFormat.UNKNOWN,
        None,
        findings=(why,),
    )


def _chunks(items: Sequence[Job], size: int) -> Iterator[Sequence[Job]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def read_and_check(
    root: Path,
    *,
    limits: Limits,
    setup: CheckSetup,
    trust: TrustStore | None,
    workers: int = 0,
    tick: Callable[[int], None] | None = None,
    entries: Sequence[Entry] | None = None,
    on_chunk: Callable[[Sequence[Checked]], None] | None = None,
) -> list[Checked]:
    """Every file under `root`, read and validated, in path order.

    With `setup.cache`, an unchanged file (same size and date as cached) is taken from the
    cache instead of being parsed again, and newly read files go to the cache (by the workers
    themselves); `on_chunk` sees each batch in this process while the workers prepare the next.
    """
    if entries is None:
        entries = list_files(root)
    known = setup.cache.index() if setup.cache is not None else {}
    results, to_read = _sort_entries(entries, known)
    if tick is not None:
        tick(len(results))
    workers = workers or os.cpu_count() or 1
    if workers > 1 and len(to_read) >= _POOL_MIN_FILES:
        read = _read_in_pool(root, to_read, limits, setup, workers, tick, on_chunk)
    else:
        read = _process(root, to_read, limits, make_validator(setup, trust), setup.cache)
        if tick is not None:
            tick(len(to_read))
    for item in read:
        results[item.file.path] = item
    return [results[e.rel] for e in entries]


def _sort_entries(
    entries: Sequence[Entry], known: Mapping[str, tuple[int, int]]
) -> tuple[dict[str, Checked], list[Job]]:
    """Entries refused at listing (their record is final), and the jobs for the others.

    A job carries the file's size and date when the cache holds it unchanged.
    """
    results: dict[str, Checked] = {}
    to_read: list[Job] = []
    for entry in entries:
        if entry.problem:
            why = finding(Code.FILE_ENTRY_REFUSED, file=entry.rel, reason=entry.problem)
            results[entry.rel] = Checked(_not_read(entry, why), ())
        elif entry.outside:
            why = finding(Code.FILE_OUTSIDE_FOLDER, file=entry.rel)
            results[entry.rel] = Checked(_not_read(entry, why), ())
        elif known.get(entry.rel) == (entry.size, entry.mtime_ns):
            to_read.append((entry.rel, entry.size, entry.mtime_ns))
        else:
            to_read.append((entry.rel, None, None))
    return results, to_read


def _read_in_pool(
    root: Path,
    to_read: Sequence[Job],
    limits: Limits,
    setup: CheckSetup,
    workers: int,
    tick: Callable[[int], None] | None,
    on_chunk: Callable[[Sequence[Checked]], None] | None,
) -> list[Checked]:
    """The jobs read by worker processes, batch by batch; `on_chunk` sees each batch here."""
    out: list[Checked] = []
    with ProcessPoolExecutor(
        max_workers=workers, initializer=_init_worker, initargs=(setup, os.getpid())
    ) as pool:
        futures = [
            pool.submit(_read_chunk, root, chunk, limits) for chunk in _chunks(to_read, _CHUNK)
        ]
        try:
            for future in futures:
                chunk = future.result()
                out.extend(chunk)
                if on_chunk is not None:
                    on_chunk(chunk)
                if tick is not None:
                    tick(len(chunk))
        except BaseException:
            # Stop at once (a roster error, Ctrl-C): do not read the rest of the folder.
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return out
