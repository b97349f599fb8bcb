"""Generate (once, cached) the bench data: N agents, N certificate files, rosters, trust store."""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import random
import time
from pathlib import Path

from certsync.testkit.evaluation import generate
from certsync.testkit.pki import rsa_key, sample_pki
from certsync.testkit.rosters import write_socle_export, write_xlsx

CACHE = Path(__file__).resolve().parent / ".cache"
#: Agents per generation chunk (one chunk per task, spread over the cores).
CHUNK = 2_500
#: Roughly 300 agents per organisation, as in a mid-sized collectivité.
AGENTS_PER_ORG = 300


def dataset_dir(n: int) -> Path:
    """Where the data set of size `n` lives."""
    return CACHE / f"n{n}"


def _chunk(args: tuple[int, int, int, Path]) -> list[dict[str, str]]:
    index, size, orgs, certs = args
    truth = generate(size, seed=1000 + index, organisations=orgs, first_org=index * orgs)
    truth.write(certs)
    # The usual problems of a drop folder: keys, screenshots, empty files.
    rng = random.Random(index)
    junk = certs / f"divers-{index}"
    junk.mkdir(parents=True, exist_ok=True)
    for j in range(size // 100):
        kind = rng.choice(("key", "png", "empty", "csr"))
        data = {
            "key": b"-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8=\n"
            b"-----END PRIVATE KEY-----\n",
            "png": b"\x89PNG\r\n\x1a\n" + bytes(200),
            "empty": b"",
            "csr": b"-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n"
            b"-----END CERTIFICATE REQUEST-----\n",
        }[kind]
        (junk / f"fichier-{j}.{kind}").write_bytes(data)
    return truth.roster


def build(n: int) -> Path:
    """Generate the data set of size `n` unless it is already cached; return its folder."""
    folder = dataset_dir(n)
    if (folder / "done.json").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    certs = folder / "certs"
    started = time.perf_counter()
    # Warm the PKI and key caches before forking, so every chunk signs with the same CA.
    pki = sample_pki()
    for slot in range(4):
        rsa_key(2048, slot)
    chunks = [(i, min(CHUNK, n - i * CHUNK)) for i in range((n + CHUNK - 1) // CHUNK)]
    orgs = max(1, CHUNK // AGENTS_PER_ORG)
    tasks = [(i, size, orgs, certs) for i, size in chunks]
    with multiprocessing.get_context("fork").Pool() as pool:
        rosters = pool.map(_chunk, tasks)
    rows = [row for part in rosters for row in part]
    (folder / "trust.pem").write_bytes(pki.trust_pem())
    columns = ["Nom", "Prénom", "Courriel", "Collectivité", "SIREN"]
    with (folder / "roster.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, delimiter=";", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    write_xlsx(folder / "roster.xlsx", rows, columns=columns, title="Agents")
    write_socle_export(folder / "export_agent.csv", rows)
    files = sum(1 for p in certs.rglob("*") if p.is_file())
    info = {"agents": len(rows), "files": files, "seconds": round(time.perf_counter() - started)}
    (folder / "done.json").write_text(json.dumps(info), encoding="utf-8")
    return folder


def main(argv: list[str] | None = None) -> int:
    """`python bench/generate.py [N]`: build (or find) the data set of N agents, print its path."""
    parser = argparse.ArgumentParser(
        description="Génère une fois (dans bench/.cache/) le jeu de données du banc d'essai : "
        "N agents, leurs fichiers de certificat, les listes (CSV, XLSX, export du socle) et le "
        "magasin de confiance ; affiche son dossier.",
    )
    parser.add_argument(
        "size", nargs="?", type=int, default=1000, metavar="N", help="nombre d'agents (1000)"
    )
    args = parser.parse_args(argv)
    if args.size < 1:
        parser.error("N doit valoir au moins 1")
    print(build(args.size))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
