"""Default periodic tasks, installed by data migrations.

Schedules live in django-celery-beat's tables (editable in the admin), not in code: a
migration creates each default once, and what an operator changes afterwards is kept.
"""

from typing import Any

from django.db import migrations
from django.db.migrations.state import StateApps


def install_periodic_task(
    apps: StateApps,
    *,
    name: str,
    task: str,
    queue: str,
    description: str,
    every_seconds: int | None = None,
    crontab: dict[str, str] | None = None,
    priority: int | None = None,
) -> None:
    """Create the periodic task ``name`` unless it exists (an operator may have edited it)."""
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(name=name).exists():
        return
    schedule: dict[str, Any] = {}
    if every_seconds is not None:
        IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
        schedule["interval"], _ = IntervalSchedule.objects.get_or_create(every=every_seconds, period="seconds")
    elif crontab is not None:
        CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
        schedule["crontab"], _ = CrontabSchedule.objects.get_or_create(timezone="Asia/Bahrain", **crontab)
    else:
        raise ValueError("a periodic task needs every_seconds or crontab")
    PeriodicTask.objects.create(
        name=name, task=task, queue=queue, priority=priority, description=description, **schedule
    )


def remove_periodic_task(apps: StateApps, *, name: str) -> None:
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=name).delete()


def install_periodic_tasks(tasks: list[dict[str, Any]]) -> migrations.RunPython:
    """The migration operation that installs ``tasks`` (keyword arguments of
    :func:`install_periodic_task`) and, reversed, removes them."""

    def install(apps: StateApps, schema_editor: object) -> None:
        for task in tasks:
            install_periodic_task(apps, **task)

    def remove(apps: StateApps, schema_editor: object) -> None:
        for task in tasks:
            remove_periodic_task(apps, name=task["name"])

    return migrations.RunPython(install, remove)
