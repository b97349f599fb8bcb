"""The command line speaks French in every command's help and errors, without patching argparse."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from certsync.argparse_fr import FrenchArgumentParser
from certsync.cli import build_parser, main

#: argparse's own English texts: none may reach an administrator.
ENGLISH = (
    "usage:",
    "options:",
    "positional arguments",
    "show this help message",
    "the following arguments are required",
    "unrecognized arguments",
    "invalid choice",
    "choose from",
    "expected one argument",
    "expected at least one argument",
    "error:",
)


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    yield path
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(build_parser()))


def _assert_french(text: str) -> None:
    for english in ENGLISH:
        assert english not in text, (english, text)


def test_every_command_and_subcommand_is_reached() -> None:
    names = {" ".join(path) for path in COMMANDS}
    assert {"", "run", "inspect", "check", "decisions import", "trust build", "sandbox"} <= names
    assert len(COMMANDS) >= 16


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "certsync")
def test_help_of_every_command_is_french(path: tuple[str, ...], capsys) -> None:
    assert main([*path, "--help"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("usage : certsync") and not err
    assert "options :" in out and "afficher cette aide et quitter" in out
    _assert_french(out)


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "certsync")
def test_errors_of_every_command_are_french(path: tuple[str, ...], capsys) -> None:
    assert main([*path, "--pas-une-option"]) == 2
    _, err = capsys.readouterr()
    assert err.startswith("usage : certsync")
    assert " : erreur : " in err
    # argparse reports what is missing before an unknown option when something is required.
    assert "arguments non reconnus : --pas-une-option" in err or "obligatoires manquants" in err
    _assert_french(err)


@pytest.mark.parametrize(
    "argv",
    [
        ["run"],
        ["rollback"],
        ["decisions"],
        ["trust", "build"],
        ["nimporte"],
        ["check", "--platform", "x"],
    ],
    ids=" ".join,
)
def test_missing_or_wrong_arguments_are_told_in_french(argv: list[str], capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "arguments obligatoires manquants" in err or "choix invalide" in err
    _assert_french(err)


def _error(parser: argparse.ArgumentParser, argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as stop:
        parser.parse_args(argv)
    assert stop.value.code == 2
    err: str = capsys.readouterr().err
    _assert_french(err)
    return err.splitlines()[-1]


def test_each_kind_of_argparse_error_in_french(capsys) -> None:
    parser = FrenchArgumentParser(prog="essai")
    parser.add_argument("--nombre", type=int)
    parser.add_argument("--fichiers", nargs="+")
    parser.add_argument("--verbeux", action="store_true")
    parser.add_argument("--version-courte", action="store_true")
    both = parser.add_mutually_exclusive_group(required=True)
    both.add_argument("--oui", action="store_true")
    both.add_argument("--non", action="store_true")
    assert _error(parser, ["--oui", "--nombre", "x"], capsys) == (
        "essai : erreur : argument --nombre : valeur invalide : 'x'"
    )
    assert _error(parser, ["--oui", "--fichiers"], capsys) == (
        "essai : erreur : argument --fichiers : au moins une valeur est attendue"
    )
    assert _error(parser, ["--oui", "--non"], capsys) == (
        "essai : erreur : argument --non : incompatible avec l'argument --oui"
    )
    assert _error(parser, ["--oui", "--ver"], capsys) == (
        "essai : erreur : option ambiguë : --ver peut désigner --verbeux, --version-courte"
    )
    assert _error(parser, [], capsys) == (
        "essai : erreur : donnez l'un de ces arguments : --oui --non"
    )
    assert _error(parser, ["--oui", "--nombre"], capsys) == (
        "essai : erreur : argument --nombre : une valeur est attendue"
    )


def test_argparse_itself_is_left_in_english(capsys) -> None:
    """Building certsync's parser changes no other parser of the process."""
    build_parser()
    plain = argparse.ArgumentParser(prog="autre")
    plain.add_argument("valeur")
    help_text = plain.format_help()
    assert help_text.startswith("usage: autre") and "show this help message and exit" in help_text
    with pytest.raises(SystemExit):
        plain.parse_args([])
    assert "the following arguments are required: valeur" in capsys.readouterr().err
