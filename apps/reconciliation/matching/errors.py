"""Matching's refusals (plain Python): the catalogue's, the engine's and the manual link's."""

from apps.core.exceptions import FincoreError


class MatchingRuleInvalid(FincoreError):
    code = "matching_rule_invalid"
    title = "The matching rule cannot be as asked"
    status = 400


class MatchLinkRefused(FincoreError):
    code = "match_link_refused"
    title = "These statement lines and expectations cannot be linked"
    status = 409


class MatchUnknown(FincoreError):
    code = "match_unknown"
    title = "There is no such match"
    status = 404


class MatchUndoRefused(FincoreError):
    code = "match_undo_refused"
    title = "The match cannot be undone"
    status = 409
