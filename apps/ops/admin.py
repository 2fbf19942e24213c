"""Staff users, roles and schedules: the admin screens of other apps, with fincore's rules.

Each edit asks for a reason and is recorded by django-auditlog (and journaled); nothing is
deleted (deactivate a user instead). Beat's bulk actions are removed because they change rows
without recording who did it.
"""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.http import HttpRequest
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import ClockedSchedule, CrontabSchedule, IntervalSchedule, PeriodicTask, SolarSchedule

from apps.core.admin import AuditedAdminMixin

for model in (User, Group, PeriodicTask, IntervalSchedule, CrontabSchedule, SolarSchedule, ClockedSchedule):
    admin.site.unregister(model)


@admin.register(User)
class StaffUserAdmin(AuditedAdminMixin, UserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "is_active", "is_staff", "roles")
    list_filter = ("is_active", "is_staff", "is_superuser", "groups")

    @admin.display(description="Roles")
    def roles(self, user: User) -> str:
        return ", ".join(group.name for group in user.groups.all())

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).prefetch_related("groups")


@admin.register(Group)
class RoleAdmin(AuditedAdminMixin, GroupAdmin):
    pass


class _NoBulkActions:
    def get_actions(self, request: HttpRequest) -> dict:
        return {}


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(_NoBulkActions, AuditedAdminMixin, beat_admin.PeriodicTaskAdmin):
    pass


@admin.register(IntervalSchedule)
class IntervalScheduleAdmin(AuditedAdminMixin, admin.ModelAdmin):
    pass


@admin.register(CrontabSchedule)
class CrontabScheduleAdmin(AuditedAdminMixin, beat_admin.CrontabScheduleAdmin):
    pass
