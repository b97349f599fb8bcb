"""The file cache's codec: round trips, and refuses anything but certsync's own records."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from certsync.certfiles.parse import cert_info
from certsync.findings import Code, finding
from certsync.records import CertFile, FileFormat
from certsync.state.filecache import CacheDecodeError, decode_certfile, encode_certfile
from certsync.testkit.pki import agent_subject, make_leaf


def test_round_trip_of_a_read_file_with_chain_and_findings(pki) -> None:
    leaf = make_leaf(pki.chambersign_ca, agent_subject("Zoé", "PRIGENT"))
    cf = CertFile(
        "dir/zoé.p7b",
        1234,
        987654321,
        FileFormat.PKCS7,
        cert_info(leaf.der),
        (cert_info(pki.chambersign_ca.der),),
        (finding(Code.FILE_CHAIN_INCLUDED, file="dir/zoé.p7b", count=1, subject="CN=x"),),
    )
    assert decode_certfile(encode_certfile(cf)) == cf


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_naming_another_global_is_refused_without_running_it(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    with pytest.raises(CacheDecodeError):
        decode_certfile(pickle.dumps(_Evil(marker)))
    assert not marker.exists()


@pytest.mark.parametrize("data", [b"", b"garbage", pickle.dumps({"path": 1}), pickle.dumps(3)])
def test_damaged_or_foreign_entries_are_cache_misses(data: bytes) -> None:
    with pytest.raises(CacheDecodeError):
        decode_certfile(data)
