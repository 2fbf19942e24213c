"""The catalogue of webhook event types is data, well-formed enough for the columns and the API
that carry its names."""

import re
from dataclasses import FrozenInstanceError

import pytest

from apps.events.webhooks import event_types
from apps.events.webhooks.models import WebhookEndpoint, WebhookEvent

NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


def test_every_name_is_an_object_dot_happening_that_fits_the_columns_and_appears_once():
    names = [event_type.name for event_type in event_types.EVENT_TYPES]
    assert len(names) == len(set(names)) == len(event_types.BY_NAME) == 13
    longest = min(WebhookEvent._meta.get_field("type").max_length,
                  WebhookEndpoint._meta.get_field("events").base_field.max_length)
    for event_type in event_types.EVENT_TYPES:
        assert NAME.match(event_type.name), event_type
        assert len(event_type.name) <= longest
        assert re.fullmatch(r"[a-z_]+", event_type.object), event_type
        assert event_type.description.strip() and event_type.description.endswith(".")
        assert event_types.BY_NAME[event_type.name] is event_type
    assert event_types.ALL_EVENTS not in event_types.BY_NAME


def test_nothing_adds_a_type_at_run_time():
    with pytest.raises(TypeError):
        event_types.BY_NAME["test.created"] = event_types.EVENT_TYPES[0]  # type: ignore[index]
    with pytest.raises(FrozenInstanceError):
        event_types.EVENT_TYPES[0].name = "test.created"  # type: ignore[misc]
    assert "test.created" not in event_types.BY_NAME
