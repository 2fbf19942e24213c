from django.apps import AppConfig


class TreasuryConfig(AppConfig):
    name = "apps.treasury"
    label = "treasury"
    verbose_name = "Treasury"

    def ready(self) -> None:
        # Low-liquidity alerts (and their clearing) are announced on the outbox; the operations log
        # hears them on the default queue (a pager or chat bridge subscribes the same way).
        from apps.events.outbox.subscriptions import subscribe
        from apps.treasury.services.positions import LOW_LIQUIDITY, LOW_LIQUIDITY_CLEARED

        for event_type in (LOW_LIQUIDITY, LOW_LIQUIDITY_CLEARED):
            subscribe(event_type, task="treasury.low_liquidity_announce", queue="default")
