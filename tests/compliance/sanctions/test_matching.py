"""Normalisation and scoring of names, without a database."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.compliance.sanctions.matching import IndexedEntry, ListIndex, identifier_normalise, name_normalise

LIST = ListIndex([
    IndexedEntry(("MOHAMMED ABDULLAH AL-RASHIDI", "Abu Hamza al-Yemeni"), (("passport", "04578213"),)),
    IndexedEntry(("JOSÉ MARÍA ÁLVAREZ PEÑA",)),
    IndexedEntry(("AL-NOOR GENERAL TRADING ESTABLISHMENT", "Nur Trading Company")),
    IndexedEntry(("Abdel Karim EL-MASRI", "Abdulkarim MASRI"), (("passport", "A 1234567"),)),
    IndexedEntry(("GULF HORIZON SHIPPING LLC",), (("registration_number", "CR-445566"),)),
])


@pytest.mark.parametrize(("name", "normalised"), [
    ("José María Álvarez Peña", "alvarez jose maria pena"),
    ("Mohamed Abdallah El-Rashidi", "abdullah muhammad rashidi"),
    ("Muhammad Abdullah Al Rashidi", "abdullah muhammad rashidi"),
    ("Abdulkarim Masri", "abd karim masri"),
    ("Abdel Karim al-Masri", "abd karim masri"),
    ("Acme Trading W.L.L.", "acme trading"),
    ("O’Connor, Siobhán", "oconnor siobhan"),
    ("Al", "al"),
])
def test_names_are_normalised_for_diacritics_case_punctuation_transliteration_articles_and_order(name, normalised):
    assert name_normalise(name) == normalised


@pytest.mark.parametrize("name", [
    "Mohamed Abdullah Rashidi",  # transliteration, article dropped
    "Rashidi, Muhammad Abdullah",  # word order and punctuation
    "MUHAMAD ABDULLAH AL RASHIDY",  # a misspelling on top
    "Abu Hamza El Yemeni",  # an alias, El- for Al-
])
def test_variants_of_a_listed_name_match_it(name):
    [candidate] = LIST.screen(name, threshold=88)

    assert candidate.entry == 0
    assert candidate.score >= 88
    assert candidate.matched_fields[0]["screened"] == name


def test_the_matched_fields_say_which_name_or_alias_matched_and_how_well():
    [candidate] = LIST.screen("Abdul Karim Masri", threshold=88)

    assert candidate.entry == 3
    assert [(field["field"], field["listed"]) for field in candidate.matched_fields] == [
        ("name", "Abdel Karim EL-MASRI"), ("alias", "Abdulkarim MASRI")]
    assert candidate.score == 100.0


@pytest.mark.parametrize("name", [
    "Mohammed Ali",  # one shared (very common) word is not a match
    "Rashid Trading Company",
    "Acme Trading W.L.L.",
    "Gulf Air",
    "Zhang Wei",
])
def test_names_sharing_a_word_or_nothing_do_not_match(name):
    assert LIST.screen(name, threshold=88) == []


def test_a_listed_document_number_scores_100_whatever_the_name():
    [candidate] = LIST.screen("Someone Else Entirely", threshold=88, identifiers=["a-1234 567"])

    assert (candidate.entry, candidate.score) == (3, 100.0)
    assert candidate.matched_fields == ({"field": "passport", "listed": "A 1234567", "screened": "a-1234 567"},)


def test_a_registration_number_and_the_name_both_recorded_for_an_entity():
    [candidate] = LIST.screen("Gulf Horizon Shipping L.L.C.", threshold=88, identifiers=["CR445566"])

    assert candidate.entry == 4
    assert [field["field"] for field in candidate.matched_fields] == ["registration_number", "name"]


def test_the_threshold_is_the_caller_s():
    near = "Alvares Pena Jose"
    [candidate] = LIST.screen(near, threshold=80)

    assert candidate.entry == 1
    assert LIST.screen(near, threshold=candidate.score + 0.5) == []


def test_identifiers_are_compared_as_letters_and_digits():
    assert identifier_normalise(" cc-79.455.102 ") == "CC79455102"


@given(st.text(max_size=40))
def test_any_text_screens_without_error_and_scores_within_0_to_100(name):
    for candidate in LIST.screen(name, threshold=50):
        assert 50 <= candidate.score <= 100


@given(st.sampled_from(["MOHAMMED ABDULLAH AL-RASHIDI", "JOSÉ MARÍA ÁLVAREZ PEÑA", "GULF HORIZON SHIPPING LLC"])
       .flatmap(lambda listed: st.permutations(listed.split())))
def test_a_listed_name_in_any_word_order_and_case_scores_100(words):
    best = LIST.screen(" ".join(words).lower(), threshold=88)[0]

    assert best.score == 100.0
