from apps.core.iban import iban_is_valid, iban_normalize


def test_valid_ibans_pass_as_printed_or_stored():
    assert iban_is_valid("BH67BMAG00001299123456")
    assert iban_is_valid("GB82WEST12345698765432")
    assert iban_is_valid("SA0380000000608010167519")
    assert iban_normalize("gb82 west 1234\t5698 7654 32") == "GB82WEST12345698765432"
    assert iban_is_valid("gb82 west 1234 5698 7654 32")


def test_wrong_check_digits_length_or_shape_are_refused():
    assert not iban_is_valid("BH68BMAG00001299123456")  # check digits
    assert not iban_is_valid("GB82WEST1234569876543")  # one short for GB
    # Good check digits for its content, but a Bahraini IBAN has 22 characters, not 23.
    assert not iban_is_valid("BH76BMAG000012991234567")
    assert not iban_is_valid("BH67")
    assert not iban_is_valid(12345)
