"""Signing in to the admin, in Chromium: enrolling an authenticator, the code, the lockout."""

from base64 import b32encode

from django.contrib.auth.models import User
from django_otp.oath import totp
from playwright.sync_api import expect

from apps.audit.models import AuditEvent
from tests.e2e.admin_pages import sign_in
from tests.factories.staff import PASSWORD, staff_user


def test_a_new_officer_enrols_an_authenticator_then_reaches_the_dashboard(new_page, screens):
    officer = staff_user("Compliance officer", username="noor")
    officer.totpdevice_set.all().delete()  # a first sign-in: no authenticator yet
    page = new_page()

    page.goto("/admin/")
    screens(page, "login")
    page.fill("#id_username", "noor")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")

    # The QR code is drawn on the page (inline SVG), the secret written beside it.
    expect(page.locator(".enrol-qr svg")).to_be_visible()
    screens(page, "enrol")
    secret = page.inner_text("#totp-secret").replace(" ", "")
    device = officer.totpdevice_set.get()
    assert secret.upper() == b32encode(device.bin_key).decode().rstrip("=")
    page.fill("#id_code", f"{totp(device.bin_key):06d}")
    page.click("input[type=submit]")

    codes = page.locator("#recovery-codes li")
    expect(codes).to_have_count(10)
    screens(page, "recovery-codes")
    page.click("text=I have saved them: continue")
    expect(page.locator("h1")).to_have_text("Dashboard")
    screens(page, "dashboard")
    assert AuditEvent.objects.filter(action="staff.two_factor_enrolled", actor_label="noor").count() == 1
    assert AuditEvent.objects.filter(action="staff.logged_in", actor_label="noor").count() == 1


def test_five_wrong_passwords_lock_the_login_and_then_the_right_one_fails_too(new_page, screens):
    staff_user("Compliance officer", username="amina")
    page = new_page()

    for attempt in range(5):
        page.goto("/admin/login/")
        page.fill("#id_username", "amina")
        page.fill("#id_password", f"wrong password {attempt}")
        page.click("input[type=submit]")
    screens(page, "fifth-failure")
    page.goto("/admin/login/")
    page.fill("#id_username", "amina")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")

    expect(page.locator("body")).to_contain_text("locked")
    screens(page, "locked-out")
    assert page.locator("#id_code").count() == 0
    # Five failures, then the right password refused during the lock: each journaled.
    assert AuditEvent.objects.filter(action="staff.login_failed").count() == 6


def test_a_signed_in_supervisor_sees_the_dashboard_and_signs_out(new_page, screens):
    supervisor = staff_user("Compliance supervisor", username="sara")
    page = new_page()

    sign_in(page, supervisor)
    screens(page, "dashboard")
    page.click("#logout-form button")
    expect(page.locator("body")).to_contain_text("Logged out")
    page.goto("/admin/payments/payment/")
    expect(page.locator("#id_username")).to_be_visible()  # back to the sign-in
    assert list(AuditEvent.objects.filter(actor_label="sara").values_list("action", flat=True).order_by("id")) == [
        "staff.logged_in", "staff.logged_out",
    ]


def test_nobody_without_a_staff_account_gets_past_the_password(new_page):
    User.objects.create_user("customer", password=PASSWORD)
    page = new_page()
    page.goto("/admin/login/")
    page.fill("#id_username", "customer")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    assert page.locator("#id_code").count() == 0
    expect(page.locator(".errornote")).to_be_visible()
