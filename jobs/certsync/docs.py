"""Generated documentation: the README's table of finding codes comes from the catalogue."""

from __future__ import annotations

import sys
from pathlib import Path

from certsync.findings import CATALOGUE, Code

START = "<!-- codes:start (généré par `make docs`, ne pas modifier à la main) -->"
END = "<!-- codes:end -->"

_FAMILIES = {
    "ROSTER": "Liste des agents",
    "FILE": "Fichiers de certificat",
    "MATCH": "Attribution",
    "CERT": "Validité du certificat",
    "MEGALIS": "Plateforme Mégalis",
    "ONBOARD": "Inscription par l'import du socle",
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def codes_table() -> str:
    """The Markdown table of every code, grouped by family, in catalogue order."""
    lines = []
    for prefix, title in _FAMILIES.items():
        lines += [
            f"#### {title}",
            "",
            "| Code | Gravité | Problème | Que faire |",
            "|---|---|---|---|",
        ]
        for code in Code:
            if code.value.split("_", 1)[0] != prefix:
                continue
            spec = CATALOGUE[code]
            lines.append(
                f"| `{code.value}` | {spec.severity.label} | {_cell(spec.title)} | "
                f"{_cell(spec.action)} |"
            )
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def render(readme: str) -> str:
    """The README with its generated section replaced."""
    head, sep, rest = readme.partition(START)
    if not sep:
        raise ValueError("README has no codes:start marker")
    _old, sep2, tail = rest.partition(END)
    if not sep2:
        raise ValueError("README has no codes:end marker")
    return f"{head}{START}\n{codes_table()}{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    """`python -m certsync.docs README.md`: rewrite the generated section in place."""
    args = argv if argv is not None else sys.argv[1:]
    path = Path(args[0] if args else "README.md")
    path.write_text(render(path.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
