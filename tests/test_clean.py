"""The value cleaners (tierslieux.model.clean), on good and bad values."""

from __future__ import annotations

import pytest

from tierslieux.model.clean import (
    CLEANERS,
    Closure,
    DateValue,
    clean_closure,
    clean_date,
    clean_email,
    clean_insee,
    clean_phone,
    clean_postcode,
    clean_siren,
    clean_siret,
    clean_text,
    clean_url,
    find_closure,
    fold,
    plain_text,
    split_values,
)

# (cleaner, raw value, expected value, expected issue severity or None)
GOOD = [
    (clean_postcode, "14460", "14460", None),
    (clean_postcode, "14 460", "14460", "warning"),
    (clean_postcode, "75.011", "75011", "warning"),
    (clean_phone, "02 52 56 98 07", "+33 2 52 56 98 07", None),
    (clean_phone, "02.52.56.98.07", "+33 2 52 56 98 07", None),
    (clean_phone, "+33 (0)2 52 56 98 07", "+33 2 52 56 98 07", None),
    (clean_phone, "+33 2 52 56 98 07", "+33 2 52 56 98 07", None),
    (clean_phone, "0033 6 12 34 56 78", "+33 6 12 34 56 78", None),
    (clean_phone, "+44 20 7946 0958", "+442079460958", None),
    (clean_email, "bonjour@le-wip.com", "bonjour@le-wip.com", None),
    (clean_email, "Bonjour@Le-WIP.COM", "Bonjour@le-wip.com", None),
    (clean_email, "mailto:bonjour@le-wip.com", "bonjour@le-wip.com", None),
    (clean_email, "[mailto:bonjour@le-wip.com écrire]", "bonjour@le-wip.com", None),
    (clean_email, "bonjour [at] le-wip.com", "bonjour@le-wip.com", "warning"),
    (clean_email, "contact arobase lieu [point] fr", "contact@lieu.fr", "warning"),
    (clean_url, "https://www.le-wip.com/", "https://www.le-wip.com/", None),
    (clean_url, "[https://www.le-wip.com/ Le site du Wip]", "https://www.le-wip.com/", None),
    (clean_url, "http://example.org/a?b=c", "http://example.org/a?b=c", None),
    (clean_url, "www.le-wip.com", "https://www.le-wip.com", "warning"),
    (clean_url, "le-wip.com/contact", "https://le-wip.com/contact", "warning"),
    (clean_insee, "14174", "14174", None),
    (clean_insee, "2a004", "2A004", None),
    (clean_siren, "213000045", "213000045", None),
    (clean_siren, "213 000 045", "213000045", "warning"),
    (clean_siren, "213 000 045 00017", "213000045", "warning"),
    (clean_siret, "84931356400015", "84931356400015", None),
    (clean_siret, "849 313 564 00015", "84931356400015", "warning"),
    (clean_siret, "35600000000001", "35600000000001", None),  # La Poste: digit sum % 5
    (clean_text, "'''Le''' [[Le WIP|Wip]]", "Le Wip", None),
    (clean_text, "  deux   espaces\net une ligne ", "deux espaces et une ligne", None),
    (clean_date, "2016", DateValue("2016", "gYear"), None),
    (clean_date, "juillet 2023", DateValue("2023-07", "gYearMonth"), None),
    (clean_date, "Août 2019", DateValue("2019-08", "gYearMonth"), None),
    (clean_date, "sept. 2021", DateValue("2021-09", "gYearMonth"), None),
    (clean_date, "1er mars 2020", DateValue("2020-03-01", "date"), None),
    (clean_date, "le 12 décembre 2018", DateValue("2018-12-12", "date"), None),
    (clean_date, "2020-03-01", DateValue("2020-03-01", "date"), None),
    (clean_date, "01/03/2020", DateValue("2020-03-01", "date"), None),
    (clean_date, "07/2023", DateValue("2023-07", "gYearMonth"), None),
    (clean_date, "29 février 2024", DateValue("2024-02-29", "date"), None),
]

BAD = [
    (clean_postcode, "1446"),
    (clean_postcode, "144600"),
    (clean_postcode, "Colombelles"),
    (clean_phone, "appelez-nous"),
    (clean_phone, "123"),
    (clean_phone, "02 52 56 98 07 99 99 99 99"),
    (clean_phone, "+33 2 52"),
    (clean_email, "bonjour"),
    (clean_email, "bonjour@"),
    (clean_email, "bon jour@le-wip.com"),
    (clean_email, "a@b@c.fr"),
    (clean_url, "le site du lieu"),
    (clean_url, "ftp://example.org/"),
    (clean_url, "https://exa mple.org/"),
    (clean_url, "https://localhost/"),
    (clean_insee, "1417"),
    (clean_insee, "2C004"),
    (clean_siren, "123456789"),
    (clean_siren, "12345678"),
    (clean_siret, "84931356400016"),      # wrong check digit
    (clean_siret, "849313564"),           # a SIREN is not a SIRET
    (clean_siret, "12345678900015"),      # the SIREN part is not valid
    (clean_siret, "35600000000002"),      # La Poste, wrong digit sum
    (clean_text, "{{Modèle seul}}"),
    (clean_date, "bientôt"),
    (clean_date, "31 février 2020"),
    (clean_date, "13/2020"),
    (clean_date, "juillet 2023 ou plus tard"),
]


@pytest.mark.parametrize(("cleaner", "raw", "expected", "severity"), GOOD,
                         ids=[f"{c.__name__}:{r}" for c, r, _, _ in GOOD])
def test_good_values(cleaner, raw, expected, severity) -> None:
    result = cleaner(raw)
    assert result.value == expected
    assert not result.rejected
    if severity is None:
        assert result.issue is None
    else:
        assert result.issue is not None
        assert result.issue.severity == severity
        assert result.issue.original == raw
        assert result.issue.kept == expected


@pytest.mark.parametrize(("cleaner", "raw"), BAD, ids=[f"{c.__name__}:{r}" for c, r in BAD])
def test_bad_values_are_rejected_with_an_error(cleaner, raw) -> None:
    result = cleaner(raw)
    assert result.rejected
    assert result.value is None
    assert result.issue is not None
    assert result.issue.severity == "error"
    assert result.issue.original == raw
    assert result.issue.message


@pytest.mark.parametrize(("raw", "closed", "since", "note"), [
    ("Espace physique fermé depuis juillet 2023", True, DateValue("2023-07", "gYearMonth"),
     "Espace physique fermé depuis juillet 2023"),
    ("Espace physique fermé depuis 2016, mais la communauté se retrouve toujours via "
     "[[Coworking Sainté]].", True, DateValue("2016", "gYear"),
     "Espace physique fermé depuis 2016, mais la communauté se retrouve toujours via "
     "Coworking Sainté."),
    ("Fermé le 1er mars 2020", True, DateValue("2020-03-01", "date"), "Fermé le 1er mars 2020"),
    ("'''Fermée'''", True, None, "Fermée"),
    ("2019", True, DateValue("2019", "gYear"), "2019"),
    ("ouvert", False, None, None),
    ("Ouverte", False, None, None),
])
def test_closure_statements(raw, closed, since, note) -> None:
    result = clean_closure(raw)
    assert result.issue is None
    assert result.value == Closure(closed=closed, since=since, note=note)


def test_closure_with_a_date_that_is_not_understood_is_kept_with_a_warning() -> None:
    result = clean_closure("fermé depuis le 31/02/2020")
    assert result.value == Closure(True, None, "fermé depuis le 31/02/2020")
    assert result.issue is not None and result.issue.severity == "warning"


def test_not_a_closure_statement() -> None:
    result = clean_closure("à voir avec l'équipe")
    assert result.rejected and result.issue is not None


def test_find_closure_in_prose() -> None:
    text = ("Le Comptoir Numérique n'est pas un lieu. Espace physique fermé depuis 2016, mais "
            "la communauté se retrouve toujours via Coworking Sainté. "
            "Il permet de développer…")
    closure = find_closure(text)
    assert closure == Closure(True, DateValue("2016", "gYear"),
                              "Espace physique fermé depuis 2016, mais la communauté se "
                              "retrouve toujours via Coworking Sainté.")
    assert find_closure("Un lieu ouvert à tous depuis 2015.") is None


def test_split_values() -> None:
    assert split_values("Gouvernance, Animation ;Economique,, Autre ", ",;") == (
        "Gouvernance", "Animation", "Economique", "Autre")
    assert split_values("A, B", "") == ("A, B",)
    assert split_values("  ", ",") == ()


def test_plain_text_and_fold() -> None:
    assert plain_text("[[France Tiers Lieux]], [[Tilios|TILIOS]]") == "France Tiers Lieux, TILIOS"
    assert plain_text("[https://a.org/ le site]") == "le site"
    assert plain_text("[https://a.org/ le site]", urls=True) == "https://a.org/"
    assert fold("Moyens d'actions") == fold("MOYENS D’ACTIONS") == "moyens d actions"
    assert fold("Délégation de services publics") == "delegation de services publics"
    assert fold("Agglomération & EPCI") == "agglomeration epci"


def test_every_cleaner_is_registered_and_pure() -> None:
    assert set(CLEANERS) == {"text", "postcode", "phone", "email", "url", "insee", "siren",
                             "siret", "date", "closure"}
    for cleaner in CLEANERS.values():
        assert cleaner("14 460") == cleaner("14 460")
