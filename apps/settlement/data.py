"""The business calendar's plain vocabulary, shared by the models (their defaults and checks) and
the domain: weekdays as ``date.weekday()`` numbers them."""

MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY, SUNDAY = range(7)
WEEKDAYS = tuple(range(7))

# Bahrain's market: Friday and Saturday off, the day closing at 17:00 in Asia/Bahrain.
BAHRAIN_TIME_ZONE = "Asia/Bahrain"
BAHRAIN_WEEKEND = (FRIDAY, SATURDAY)
