"""CSV rosters: encodings, separators, quoting, row numbers and header detection."""

from __future__ import annotations

import pytest

from certsync.errors import InputError
from certsync.findings import Code

HEADER = "Nom;Prénom;Courriel\n"


def test_utf8_without_bom(read_csv):
    roster = read_csv(HEADER + "Kerhervé;Éloïse;eloise.kerherve@mairie.fr\n")
    agent = roster.agents[0]
    assert (agent.nom, agent.prenom, agent.email) == (
        "Kerhervé",
        "Éloïse",
        "eloise.kerherve@mairie.fr",
    )
    assert roster.detected["encoding"] == "utf-8"


def test_utf8_bom_does_not_hide_first_column(read_csv):
    roster = read_csv("\ufeff" + HEADER + "Dupont;Jean;jean@mairie.fr\n")
    assert roster.agents[0].nom == "Dupont"
    assert roster.detected["encoding"] == "utf-8-sig"


def test_cp1252_round_trip_is_exact(read_csv):
    names = [("Cœur", "Œdipe"), ("ÉMILE", "Zoé"), ("Derc’hen", "Fañch")]
    text = HEADER + "".join(f"{n};{p};a{i}@mairie.fr\n" for i, (n, p) in enumerate(names))
    roster = read_csv(text, encoding="cp1252")
    assert roster.detected["encoding"] == "cp1252"
    assert [(a.nom, a.prenom) for a in roster.agents] == names


@pytest.mark.parametrize("byte", [0x81, 0x8D, 0x8F, 0x90, 0x9D])
def test_bytes_undefined_in_cp1252_are_refused(write_csv, byte):
    # Only latin-1 would decode these (as C1 controls); certsync never falls back to it.
    data = HEADER.encode("cp1252") + b"Dupont;J" + bytes([byte]) + b"an;j@mairie.fr\n"
    from certsync.roster import read_roster

    with pytest.raises(InputError, match=r"ni en UTF-8 ni en Windows-1252.*ligne 2"):
        read_roster(write_csv(data))


def test_mixed_utf8_and_cp1252_refused(write_csv):
    from certsync.roster import read_roster

    data = HEADER.encode() + "Élodie;Zoé;z@m.fr\n".encode() + "Noël;Zoé;n@m.fr\n".encode("cp1252")
    with pytest.raises(InputError, match="mélange deux encodages"):
        read_roster(write_csv(data))


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_refused_with_message(read_csv, codec):
    with pytest.raises(InputError, match="UTF-16") as caught:
        read_csv(HEADER + "Dupont;Jean;jean@mairie.fr\n", encoding=codec)
    assert "CSV UTF-8" in caught.value.hint


def test_binary_content_refused(read_csv):
    with pytest.raises(InputError, match="caractère de contrôle"):
        read_csv(b"Nom;Pr\x00nom;Courriel\n\x01\x02\x03")


@pytest.mark.parametrize(
    ("separator", "name"), [(";", "point-virgule"), (",", "virgule"), ("\t", "tabulation")]
)
def test_separators_with_quoted_fields(read_csv, separator, name):
    s = separator
    text = (
        f"Nom{s}Prénom{s}Courriel{s}Collectivité\n"
        f'"Le Gall{s} dit ""Bob"""{s}Jean{s}jean@mairie.fr{s}"Mairie; de, Brest"\n'
        f"Martin{s}Anne{s}anne@mairie.fr{s}Quimper\n"
    )
    roster = read_csv(text)
    assert roster.detected["separator"] == name
    # A tab inside a cell becomes a space, like a line break (cleaning, not reading).
    expected = f'Le Gall{s} dit "Bob"'.replace("\t ", " ")
    assert [a.nom for a in roster.agents] == [expected, "Martin"]
    assert roster.agents[0].organisation == "Mairie; de, Brest"


def test_multiline_quoted_fields_keep_row_numbers(read_csv):
    text = (
        "Nom;Prénom;Courriel;Collectivité\r\n"
        'Dupont;Jean;jean@mairie.fr;"Mairie\r\nde Brest\r\n(annexe)"\r\n'
        "Martin;Anne;anne@mairie.fr;Quimper\r\n"
        "\r\n"
        '"Le\nGall";Loïc;;Vannes\r\n'
    )
    roster = read_csv(text)
    assert [a.row for a in roster.agents] == [2, 5, 7]
    assert roster.agents[0].organisation == "Mairie de Brest (annexe)"
    assert roster.agents[2].nom == "Le Gall"
    assert [(f.row, f.code) for f in roster.findings] == [(7, Code.ROSTER_ROW_INCOMPLETE)]


def test_unclosed_quote_is_an_input_error(read_csv):
    text = HEADER + 'Dupont;"Jean;jean@mairie.fr\n' + ("x" * 200_000) + "\n"
    with pytest.raises(InputError, match="guillemet"):
        read_csv(text)


def test_title_and_blank_rows_above_header(read_csv):
    text = (
        "Liste des agents — campagne 2026;;\n"
        ";;\n"
        "\n"
        "Mise à jour le 12/01/2026;;\n"
        "Nom;Prénom;Courriel\n"
        "Dupont;Jean;jean@mairie.fr\n"
    )
    roster = read_csv(text)
    assert roster.detected["header_row"] == "5"
    assert [(a.row, a.nom) for a in roster.agents] == [(6, "Dupont")]


@pytest.mark.parametrize(
    "header",
    [
        "NOM;PRÉNOM;E-MAIL",
        "nom de famille;Prénom(s);Adresse électronique",
        "Nom d'usage ;prenom;Mél",
        " Nom_usuel;PRENOMS;adresse-mail",
        "Last name;First name;Email",
        "Surname;Given name;E-mail address",
        "NOM;Prénom;Courriel;Courriel",
    ],
)
def test_header_variants(read_csv, header):
    roster = read_csv(f"{header}\nDupont;Jean;jean@mairie.fr;autre@mairie.fr\n")
    agent = roster.agents[0]
    assert (agent.nom, agent.prenom, agent.email) == ("Dupont", "Jean", "jean@mairie.fr")


def test_optional_columns_by_synonym(read_csv):
    text = (
        "Nom;Prénom;Adresse mail;Entité;N° SIREN;Numéro SIRET;Identifiant;Fichier certificat\n"
        "Dupont;Jean;jean@mairie.fr;Mairie de Brest;213502388;21350238800019;jdupont;jd.cer\n"
    )
    agent = read_csv(text).agents[0]
    assert agent.organisation == "Mairie de Brest"
    assert (agent.siren, agent.siret, agent.login, agent.file_ref) == (
        "213502388",
        "21350238800019",
        "jdupont",
        "jd.cer",
    )


@pytest.mark.parametrize(
    "column", ["Nom Prénom", "Prénom Nom", "Nom complet", "Agent", "Full name"]
)
def test_single_full_name_column(read_csv, column):
    roster = read_csv(f"{column};Courriel\nJean DUPONT;jean@mairie.fr\n;anne@mairie.fr\n")
    assert roster.agents[0].full_name == "Jean DUPONT"
    assert roster.agents[0].display_name == "Jean DUPONT"
    assert [(f.row, f.code, f.params["missing"]) for f in roster.findings] == [
        (3, Code.ROSTER_ROW_INCOMPLETE, "nom")
    ]


def test_missing_required_column_lists_columns_found(read_csv):
    with pytest.raises(InputError) as caught:
        read_csv("Nom;Prénom;Téléphone\nDupont;Jean;0299000000\n")
    error = caught.value
    assert "adresse e-mail" in error.message
    assert "« Nom », « Prénom », « Téléphone »" in error.message
    assert "(ligne 1)" in error.message
    assert "« Courriel »" in error.hint and "« E-mail »" in error.hint


def test_last_name_without_first_name_column_is_refused(read_csv):
    with pytest.raises(InputError, match="prénom"):
        read_csv("Nom;Courriel\nDupont;jean@mairie.fr\n")


def test_no_header_row(read_csv):
    with pytest.raises(InputError, match="Aucune ligne d'en-tête"):
        read_csv("Dupont;Jean;jean@mairie.fr\nMartin;Anne;anne@mairie.fr\n")


def test_header_only_is_an_empty_roster(read_csv):
    with pytest.raises(InputError, match="aucune ligne d'agent"):
        read_csv(HEADER + ";;\n\n")


def test_detected_summary(read_csv):
    roster = read_csv(HEADER + "Dupont;Jean;jean@mairie.fr\n")
    assert roster.detected["format"] == "csv"
    assert roster.detected["layout"] == "liste"
    assert roster.detected["columns"].startswith("nom ← « Nom » (A), prénom ← « Prénom » (B)")


def test_sheet_option_refused_for_csv(read_csv):
    with pytest.raises(InputError, match="--sheet"):
        read_csv(HEADER + "Dupont;Jean;jean@mairie.fr\n", sheet="Agents")


def test_repeated_header_row_is_not_an_agent(read_csv):
    text = HEADER + "Dupont;Jean;jean@mairie.fr\n" + HEADER + "Martin;Anne;anne@mairie.fr\n"
    roster = read_csv(text)
    assert [(a.row, a.nom) for a in roster.agents] == [(2, "Dupont"), (4, "Martin")]
    assert roster.findings == ()


def test_name_next_to_first_name_is_the_family_name(read_csv):
    agent = read_csv("First name;Name;Email\nJean;Dupont;jean@mairie.fr\n").agents[0]
    assert (agent.prenom, agent.nom, agent.full_name) == ("Jean", "Dupont", "")
