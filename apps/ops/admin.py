"""Staff users, roles, sign-in records and schedules: the admin screens of other apps, with
fincore's rules.

Each edit asks for a reason and is recorded by django-auditlog (and journaled); nothing is
deleted (deactivate a user instead). Beat's bulk actions are removed because they change rows
without recording who did it. django-otp's device screens are removed (devices are enrolled at
sign-in and reset from the user's page, never edited); django-axes' records are read-only, and a
lock is released by a reasoned, journaled action.
"""

from axes.admin import IsLockedOutFilter
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.http import HttpRequest
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import ClockedSchedule, CrontabSchedule, IntervalSchedule, PeriodicTask, SolarSchedule
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.audit.admin_export import CsvExportMixin
from apps.core.actors import Actor
from apps.core.admin import AuditedAdminMixin, reasoned_action
from apps.core.admin_readonly import ReadOnlyModelAdmin
from apps.ops.staff import services as staff_services
from apps.ops.staff.exceptions import LockNotFound

for model in (User, Group, PeriodicTask, IntervalSchedule, CrontabSchedule, SolarSchedule, ClockedSchedule,
              TOTPDevice, StaticDevice, AccessAttempt, AccessLog, AccessFailureLog):
    admin.site.unregister(model)


def _two_factor_reset(request: HttpRequest, user: User, reason: str) -> None:
    staff_services.staff_two_factor_reset(user_id=user.pk, actor=Actor.staff(request.user), reason=reason)


@admin.register(User)
class StaffUserAdmin(CsvExportMixin, AuditedAdminMixin, UserAdmin):
    csv_exclude = ("password",)
    list_display = ("username", "email", "first_name", "last_name", "is_active", "is_staff", "roles", "two_factor")
    list_filter = ("is_active", "is_staff", "is_superuser", "groups")
    actions = [
        reasoned_action(
            description="Reset two-factor sign-in (the next sign-in enrols a new authenticator)",
            perform=_two_factor_reset,
            permissions=("superuser",),
        ),
    ]

    @admin.display(description="Roles")
    def roles(self, user: User) -> str:
        return ", ".join(group.name for group in user.groups.all())

    @admin.display(description="Two-factor", boolean=True)
    def two_factor(self, user: User) -> bool:
        return any(device.confirmed for device in user.totpdevice_set.all())

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).prefetch_related("groups", "totpdevice_set")

    def has_superuser_permission(self, request: HttpRequest) -> bool:
        # Only superusers manage staff users' sign-in.
        return request.user.is_superuser


@admin.register(Group)
class RoleAdmin(CsvExportMixin, AuditedAdminMixin, GroupAdmin):
    pass


class _NoBulkActions:
    def get_actions(self, request: HttpRequest) -> dict:
        return {}


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(CsvExportMixin, _NoBulkActions, AuditedAdminMixin, beat_admin.PeriodicTaskAdmin):
    pass


@admin.register(IntervalSchedule)
class IntervalScheduleAdmin(CsvExportMixin, AuditedAdminMixin, admin.ModelAdmin):
    pass


@admin.register(CrontabSchedule)
class CrontabScheduleAdmin(CsvExportMixin, AuditedAdminMixin, beat_admin.CrontabScheduleAdmin):
    pass


# --- sign-in records (django-axes) ------------------------------------------------------------


def _lock_release(request: HttpRequest, attempt: AccessAttempt, reason: str) -> None:
    try:
        staff_services.staff_login_lock_release(attempt_id=attempt.pk, actor=Actor.staff(request.user), reason=reason)
    except LockNotFound as gone:
        messages.warning(request, f"{attempt.username}: {gone}")


@admin.register(AccessAttempt)
class LoginLockAdmin(CsvExportMixin, ReadOnlyModelAdmin):
    """Failures being counted per username, address and browser; five for one username and address
    lock it for 30 minutes. A compliance supervisor may release a lock, with a reason."""

    list_display = ("username", "ip_address", "failures_since_start", "status", "attempt_time", "user_agent")
    list_filter = (IsLockedOutFilter, "attempt_time")
    search_fields = ("username", "ip_address")
    date_hierarchy = "attempt_time"
    fields = ("username", "ip_address", "user_agent", "failures_since_start", "attempt_time", "path_info")
    actions = [
        reasoned_action(
            description="Unlock: forget these failures and let the username sign in again from that address",
            perform=_lock_release,
            permissions=("unlock",),
        ),
    ]

    @admin.display(description="Status")
    def status(self, attempt: AccessAttempt) -> str:
        left = settings.AXES_FAILURE_LIMIT - attempt.failures_since_start
        return "locked" if left <= 0 else f"{left} attempts left"

    def has_unlock_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("axes.unlock_accessattempt")


@admin.register(AccessFailureLog)
class FailedLoginAdmin(CsvExportMixin, ReadOnlyModelAdmin):
    """Every failed login (password or second factor), kept after a lock is released."""

    list_display = ("attempt_time", "username", "ip_address", "locked_out", "path_info", "user_agent")
    list_filter = ("locked_out", "attempt_time")
    search_fields = ("username", "ip_address")
    date_hierarchy = "attempt_time"
    fields = ("attempt_time", "username", "ip_address", "locked_out", "path_info", "user_agent")


@admin.register(AccessLog)
class StaffLoginAdmin(CsvExportMixin, ReadOnlyModelAdmin):
    """Every completed sign-in (both factors), with when its session ended by signing out."""

    list_display = ("attempt_time", "logout_time", "username", "ip_address", "user_agent")
    list_filter = ("attempt_time",)
    search_fields = ("username", "ip_address")
    date_hierarchy = "attempt_time"
    fields = ("attempt_time", "logout_time", "username", "ip_address", "user_agent", "path_info")
