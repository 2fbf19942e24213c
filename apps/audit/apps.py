from django.apps import AppConfig
from django.db.models.signals import post_save, pre_save


class AuditConfig(AppConfig):
    name = "apps.audit"
    label = "audit"
    verbose_name = "Audit"

    def ready(self) -> None:
        from auditlog.models import LogEntry

        from apps.audit import receivers

        pre_save.connect(receivers.stamp_reason, sender=LogEntry, dispatch_uid="audit.stamp_reason")
        post_save.connect(receivers.mirror_log_entry, sender=LogEntry, dispatch_uid="audit.mirror_log_entry")
