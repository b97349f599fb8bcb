"""argparse speaking French: its fixed texts translated, errors with exit code 2."""

from __future__ import annotations

import argparse
import re
import sys
from typing import NoReturn

# argparse looks its texts up through the module-level name `_` (gettext) at call time.
_TEXTS = {
    "usage: ": "usage : ",
    "options": "options",
    "positional arguments": "arguments",
    "show this help message and exit": "afficher cette aide et quitter",
    "the following arguments are required: %s": "arguments obligatoires manquants : %s",
    "unrecognized arguments: %s": "arguments non reconnus : %s",
    "invalid choice: %(value)r (choose from %(choices)s)": (
        "choix invalide : %(value)r (choix possibles : %(choices)s)"
    ),
    "expected one argument": "une valeur est attendue",
    "argument %(argument_name)s: %(message)s": "argument %(argument_name)s : %(message)s",
    "invalid %(type)s value: %(value)r": "valeur invalide : %(value)r",
    "%(prog)s: error: %(message)s\n": "%(prog)s : erreur : %(message)s\n",
    "ambiguous option: %(option)s could match %(matches)s": (
        "option ambiguë : %(option)s peut désigner %(matches)s"
    ),
    "not allowed with argument %s": "incompatible avec l'argument %s",
    "one of the arguments %s is required": "donnez l'un de ces arguments : %s",
}


def _french(text: str) -> str:
    return _TEXTS.get(text, text)


argparse._ = _french  # type: ignore[attr-defined]

_REQUIRED = re.compile(r"^the following arguments are required: (.*)$")
_ONE_OF = re.compile(r"^one of the arguments (.*) is required$")


class FrenchArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are in French and exit with code 2."""

    def error(self, message: str) -> NoReturn:
        match = _REQUIRED.match(message)
        if match:
            message = f"arguments obligatoires manquants : {match.group(1)}"
        match = _ONE_OF.match(message)
        if match:
            message = f"donnez l'un de ces arguments : {match.group(1)}"
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog} : erreur : {message}\n")
