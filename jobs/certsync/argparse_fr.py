"""argparse speaking French through its public hooks: usage, titles, help and errors (exit 2)."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from typing import Any, NoReturn

#: Titles argparse gives its two default groups, in French.
_TITLES = {"positional arguments": "arguments", "options": "options"}

#: argparse's error messages, whole or after « argument X: », in French (first match wins).
_ERRORS = tuple(
    (re.compile(pattern), french)
    for pattern, french in (
        (r"the following arguments are required: (.*)", r"arguments obligatoires manquants : \1"),
        (r"unrecognized arguments: (.*)", r"arguments non reconnus : \1"),
        (r"one of the arguments (.*) is required", r"donnez l'un de ces arguments : \1"),
        (r"ambiguous option: (.*) could match (.*)", r"option ambiguë : \1 peut désigner \2"),
        (
            r"invalid choice: (.*) \(choose from (.*)\)",
            r"choix invalide : \1 (choix possibles : \2)",
        ),
        (r"expected one argument", "une valeur est attendue"),
        (r"expected at most one argument", "au plus une valeur est attendue"),
        (r"expected at least one argument", "au moins une valeur est attendue"),
        (r"expected (\d+) arguments?", r"\1 valeurs attendues"),
        (r"invalid \S+ value: (.*)", r"valeur invalide : \1"),
        (r"not allowed with argument (.*)", r"incompatible avec l'argument \1"),
        (r"ignored explicit argument (.*)", r"argument explicite ignoré : \1"),
    )
)
_ARGUMENT = re.compile(r"argument (.+?): (.*)", re.DOTALL)


def french_error(message: str) -> str:
    """One of argparse's error messages in French; a message already ours is kept as is."""
    argument = _ARGUMENT.fullmatch(message)
    if argument:
        return f"argument {argument.group(1)} : {french_error(argument.group(2))}"
    for pattern, french in _ERRORS:
        match = pattern.fullmatch(message)
        if match:
            return match.expand(french)
    return message


class FrenchHelpFormatter(argparse.HelpFormatter):
    """The help formatter with a French usage line and French punctuation (« options : »)."""

    def start_section(self, heading: str | None) -> None:
        # argparse writes "heading:"; French puts a space before the colon.
        super().start_section(f"{heading} " if heading else heading)

    def add_usage(
        self,
        usage: str | None,
        actions: Iterable[argparse.Action],
        groups: Iterable[Any],
        prefix: str | None = None,
    ) -> None:
        super().add_usage(usage, actions, groups, "usage : " if prefix is None else prefix)


class FrenchArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose help and errors are in French, errors exiting with code 2.

    Only this parser and its subcommands speak French: argparse itself is left untouched, so
    no other parser in the process changes language.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", FrenchHelpFormatter)
        super().__init__(*args, **kwargs)

    def add_argument_group(self, *args: Any, **kwargs: Any) -> Any:
        """The default groups' titles in French (argparse names them while it is built)."""
        if args and isinstance(args[0], str):
            args = (_TITLES.get(args[0], args[0]), *args[1:])
        return super().add_argument_group(*args, **kwargs)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        """The help option argparse adds itself, described in French."""
        if kwargs.get("action") == "help":
            kwargs["help"] = "afficher cette aide et quitter"
        return super().add_argument(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog} : erreur : {french_error(message)}\n")
