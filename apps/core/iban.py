"""IBAN check (ISO 13616): the country's registered length and the mod-97 check digits, from
schwifty's copy of the SWIFT IBAN registry (the one IBAN library fincore uses; merchants' payout
accounts are checked with it too, down to the BBAN).

The API refuses an IBAN the rails would refuse, so a payment is never accepted only to be
declined as ``invalid_iban`` by the instant rail.
"""

import re

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException


def iban_normalize(iban: str) -> str:
    """As printed ("gb82 west 1234 ...") to as stored ("GB82WEST1234...")."""
    return re.sub(r"\s", "", iban).upper()


def iban_is_valid(iban: object) -> bool:
    if not isinstance(iban, str):
        return False
    try:
        IBAN(iban_normalize(iban))
    except SchwiftyException:
        return False
    return True
