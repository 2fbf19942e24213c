import pytest
from django.contrib.auth.models import User

pytestmark = pytest.mark.django_db(transaction=True)


def test_login_page(new_page, screens):
    User.objects.create_user("x", password="y" * 12)
    page = new_page()
    page.goto("/admin/")
    screens(page, "login")
    assert "Log in" in page.content()
    assert User.objects.count() == 1
