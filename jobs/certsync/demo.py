"""`make demo`: start the socle sandbox, run the job for real on the samples, show, stop."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

from certsync.cli import main as certsync_main
from certsync.sandbox import start_sandbox
from certsync.sandbox.server import DEMO_PASSWORD, DEMO_USER

SAMPLES = Path("samples")
AS_OF = "2026-03-02"


def main() -> int:
    """Run the demonstration from the repository root; returns 0 when it ran through."""
    if not (SAMPLES / "agents.xlsx").is_file():
        print("Échantillons introuvables : lancez la démonstration depuis la racine du dépôt "
              "(make demo).", file=sys.stderr)  # fmt: skip
        return 66
    # The demo platform and the job share the documented demo credentials unless set.
    if not (os.environ.get("CERTSYNC_USER") and os.environ.get("CERTSYNC_PASSWORD")):
        os.environ["CERTSYNC_USER"] = DEMO_USER
        os.environ["CERTSYNC_PASSWORD"] = DEMO_PASSWORD
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d-%H%M%S")
    work = Path("var") / "demo" / stamp
    work.mkdir(parents=True, exist_ok=True)
    common = [
        "--roster", str(SAMPLES / "agents.xlsx"),
        "--certs", str(SAMPLES / "certificats"),
        "--trust", str(SAMPLES / "confiance" / "autorites.pem"),
        "--as-of", AS_OF,
        "--state", str(work / "certsync.sqlite"),
    ]  # fmt: skip
    handle = start_sandbox("socle", accounts=SAMPLES / "export_agent.csv")
    try:
        print(f"== Plateforme de démonstration (socle simulé) : {handle.url}")
        print(f"   {len(handle.accounts())} comptes créés depuis samples/export_agent.csv\n")
        print("== 1. Simulation (--dry-run) : ce qui serait déposé")
        simulation = Path("reports") / f"demo-{stamp}-simulation"
        certsync_main(["run", *common, "--url", handle.url, "--dry-run",
                       "--report-dir", str(simulation)])  # fmt: skip
        print("\n== 2. Dépôt réel sur la plateforme de démonstration")
        report = Path("reports") / f"demo-{stamp}"
        certsync_main(["run", *common, "--url", handle.url, "--report-dir", str(report)])
        print("\n== Comptes de la plateforme après dépôt")
        for account in handle.accounts():
            sha = account.get("sha256")
            shown = f"certificat {str(sha)[:16]}… ({account['writes']} écriture)" if sha else "—"
            print(f"   {account['email']:40} {shown}")
        print("\n== 3. Deuxième passage : rien à réécrire")
        certsync_main(["run", *common, "--url", handle.url,
                       "--report-dir", str(Path("reports") / f"demo-{stamp}-bis")])  # fmt: skip
        print(f"\nRapport détaillé du dépôt : {report / 'exceptions.xlsx'}")
    finally:
        handle.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
