"""The API docs and the admin load nothing from another host: they work offline, and no
third party's script or stylesheet runs in a payments back office."""

import re
from pathlib import Path

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from tests.factories.staff import signed_in_client, staff_user
from tests.support.workers import PROJECT_DIR

pytestmark = pytest.mark.django_db

# src=, href=, action=, url(...) and @import pointing at another host (http://, https:// or //host).
EXTERNAL = re.compile(
    r"""(?:\b(?:src|href|action)\s*=\s*["']?|url\(\s*["']?|@import\s+["'])\s*(?:https?:)?//""",
    re.IGNORECASE,
)
LOCAL_ASSET = re.compile(r"""\b(?:src|href)\s*=\s*["'](/static/[^"']+)["']""")


def _external_references(html: str) -> list[str]:
    return [html[max(0, match.start() - 40):match.end() + 60] for match in EXTERNAL.finditer(html)]


@pytest.fixture
def staff_client() -> Client:
    return signed_in_client(staff_user(username="root", superuser=True))


def test_the_api_docs_load_only_from_this_server(client: Client) -> None:
    response = client.get("/api/v1/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert _external_references(html) == []
    assets = LOCAL_ASSET.findall(html)
    assert any(asset.endswith("swagger-ui-bundle.js") for asset in assets), assets
    for asset in assets:
        served = client.get(asset)
        assert served.status_code == 200, asset
        served.close()


def _admin_pages() -> list[str]:
    pages = [reverse("admin:index")]
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        pages += [reverse("admin:{}_{}_changelist".format(*info)), reverse("admin:{}_{}_add".format(*info))]
    return pages


def test_the_admin_login_page_loads_only_from_this_server(client: Client) -> None:
    response = client.get(reverse("admin:login"))

    assert response.status_code == 200
    assert _external_references(response.content.decode()) == []


def test_every_admin_page_loads_only_from_this_server(staff_client: Client) -> None:
    checked = 0
    for page in _admin_pages():
        response = staff_client.get(page)
        if response.status_code != 200:  # an add page of a model nobody adds by hand (403)
            assert response.status_code == 403, (page, response.status_code)
            continue
        assert _external_references(response.content.decode()) == [], page
        checked += 1
    assert checked > 20


@pytest.mark.parametrize(
    "template", sorted(str(path.relative_to(PROJECT_DIR)) for path in
                       [*PROJECT_DIR.glob("templates/**/*.html"), *PROJECT_DIR.glob("apps/*/templates/**/*.html")]),
)
def test_no_template_of_ours_references_another_host(template: str) -> None:
    """Templates rendered only through an admin action's form are checked as written."""
    assert _external_references(Path(PROJECT_DIR, template).read_text(encoding="utf-8")) == []
