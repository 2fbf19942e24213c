"""Settlement in the admin, read only: the business calendar (``calendar``), prices and terms
(``prices``), runs with their lines (``runs``), and payout files with the bank's status reports
(``payout_files``). Every change is asked for on a page of its
own, which makes a maker-checker request or calls one service; nothing is added, changed or
deleted from the admin's own forms."""

from apps.settlement.admin import calendar, payout_files, prices, runs  # noqa: F401 - importing registers the screens
