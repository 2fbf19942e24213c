"""Demo data for `make run`: idempotent, and it prints how to log in.

Secrets are stored hashed, so the ones this command prints are kept in ``.fincore-demo.json``
(git-ignored, readable by the owner only) and printed again on the next run while they still
work; a secret that no longer works is replaced.
"""

import json
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandParser

from apps.core import clock, ids
from apps.core.actors import Actor
from apps.ledger import data as ledger_data
from apps.ledger import selectors as ledger_selectors
from apps.ledger import services as ledger_services
from apps.merchants import selectors, services
from apps.treasury.data import Nostro
from apps.treasury.selectors import fx as fx_selectors
from apps.treasury.selectors import nostros as treasury_selectors
from apps.treasury.services import fx as treasury_fx
from apps.treasury.services import nostros as treasury_services
from apps.treasury.services import positions as treasury_positions

ADMIN_USERNAME = "admin"
# One person in each role, so a day in the admin can be walked through: a freeze an officer requests
# and a supervisor approves needs two people (README, "A day in the admin").
DEMO_STAFF = (
    ("olivia", "Compliance officer"),
    ("sara", "Compliance supervisor"),
    ("tariq", "Treasury operator"),
    ("salma", "Support (read-only)"),
)
DEMO_MERCHANTS = (
    {"legal_name": "Demo Bakery W.L.L.", "country": "BH", "currencies": ["BHD"]},
    {"legal_name": "Demo Electronics Trading Co.", "country": "BH", "currencies": ["BHD", "SAR", "USD"]},
)
# fincore's BHD account at a Bahraini bank, and the demo merchants' own (valid IBANs, made up).
DEMO_NOSTRO = Nostro(code="demo-bhd-nostro", currency="BHD", bank_name="Demo Bank of Bahrain", bic="NBOBBHBM",
                     iban="BH96NBOB00000099887766", account_name="Fincore Demo B.S.C.")
# A second BHD account, for sweeps; the demo nostros warn below 5,000.000 BHD.
DEMO_SWEEP_NOSTRO = Nostro(code="demo-bhd-bbk", currency="BHD", bank_name="Demo Bank of Bahrain and Kuwait",
                           bic="BBKUBHBM", iban="BH27BBKU00100000123456", account_name="Fincore Demo B.S.C.")
DEMO_LOW_LIQUIDITY_THRESHOLD = 5_000_000
# Rates to quote conversions with, as a treasury operator would upload them (as of the setup).
DEMO_FX_RATES = (("BHD", "USD", "2.6595744681", "0.0025"), ("BHD", "EUR", "2.4390243902", "0.0030"),
                 ("BHD", "SAR", "9.9734042553", "0.0020"))
DEMO_PAYOUT_IBANS = ("BH67BMAG00001299123456", "BH29BMAG1299123456BH00")  # at BMAGBHBM
ACTOR = Actor.system("manage.py demo_setup")


class Command(BaseCommand):
    help = ("Create a staff superuser, a staff user in each role and two demo merchants with test API keys "
            "(idempotent).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="Where the web process listens.")
        parser.add_argument(
            "--credentials-file",
            type=Path,
            default=Path(settings.BASE_DIR) / ".fincore-demo.json",
            help="Where the printed secrets are kept between runs (default .fincore-demo.json).",
        )

    def handle(self, *args: object, **options: Any) -> None:
        credentials_file: Path = options["credentials_file"]
        saved = json.loads(credentials_file.read_text()) if credentials_file.exists() else {}
        credentials = {
            "admin_password": self._staff_password(ADMIN_USERNAME, saved.get("admin_password"), superuser=True),
            "staff": {
                username: self._staff_password(username, saved.get("staff", {}).get(username), role=role)
                for username, role in DEMO_STAFF
            },
            "merchants": {},
        }
        for demo in DEMO_MERCHANTS:
            credentials["merchants"][demo["legal_name"]] = self._merchant(demo, saved.get("merchants", {}))
        credentials["accounts"] = self._wallets(DEMO_MERCHANTS[0]["legal_name"])
        self._payouts()
        self._treasury()
        credentials_file.touch(mode=0o600)
        credentials_file.chmod(0o600)
        credentials_file.write_text(json.dumps(credentials, indent=2))
        self._print(options["base_url"], credentials)

    def _staff_password(self, username: str, saved_password: str | None, *, superuser: bool = False,
                        role: str = "") -> str:
        """The staff user (created if missing, in ``role``) and a password that signs them in; each
        enrols an authenticator app at their first sign-in."""
        User = get_user_model()
        user, _ = User.objects.get_or_create(
            username=username, defaults={"is_staff": True, "is_superuser": superuser, "email": f"{username}@localhost"}
        )
        if role:
            user.groups.add(Group.objects.get(name=role))
        if saved_password and user.check_password(saved_password):
            return saved_password
        password = secrets.token_urlsafe(12)
        user.set_password(password)
        user.is_staff = user.is_active = True
        user.is_superuser = superuser
        user.save()
        return password

    def _merchant(self, demo: dict[str, Any], saved: dict[str, dict[str, str]]) -> dict[str, str]:
        merchant = selectors.merchant_by_legal_name(demo["legal_name"]) or services.merchant_create(
            **demo, actor=ACTOR, reason="demo data"
        )
        secret = saved.get(demo["legal_name"], {}).get("secret_key")
        api_key = selectors.api_key_by_secret_hash(services.hash_secret(secret)) if secret else None
        if api_key is None or api_key.is_revoked or api_key.merchant_id != merchant.pk:
            secret = services.api_key_create(
                merchant_id=merchant.pk, name="demo", mode="test", actor=ACTOR, reason="demo data"
            ).secret
        return {"merchant_id": ids.encode("mer", merchant.pk), "secret_key": secret}

    def _wallets(self, legal_name: str) -> dict[str, str]:
        """A funding account and two customer wallets for the first merchant, Alice's funded with
        100.000 BHD, so the transfers API can be tried at once: in test mode, as its demo key is."""
        merchant = selectors.merchant_by_legal_name(legal_name)
        accounts = {}
        for reference, allow_overdraft in (("demo-funding", True), ("alice", False), ("bob", False)):
            account = ledger_selectors.customer_account_list(
                merchant_id=merchant.pk, livemode=False, reference=reference
            ).first()
            accounts[reference] = account or ledger_services.customer_account_open(
                merchant_id=merchant.pk, livemode=False, currency="BHD", reference=reference,
                allow_overdraft=allow_overdraft, actor=ACTOR,
            )
        ledger_services.transfer_create(spec=ledger_data.TransferSpec(
            client_id="demo: fund alice", merchant_id=merchant.pk, livemode=False,
            debit_account_id=accounts["demo-funding"].pk,
            credit_account_id=accounts["alice"].pk, amount=100_000, currency="BHD", code="transfer",
            reference="demo funding", created_by=ACTOR.label,
        ))
        return {reference: ids.encode("acc", account.pk) for reference, account in accounts.items()}

    def _payouts(self) -> None:
        """Where BHD payouts leave from, and where each demo merchant's arrive: settlement pays live
        money out (the demo keys are test keys, so their lines say "Test mode: no payout")."""
        treasury_services.nostro_account_ensure(nostro=DEMO_NOSTRO, pays_out=True, actor=ACTOR, reason="demo data")
        treasury_services.nostro_account_ensure(nostro=DEMO_SWEEP_NOSTRO, pays_out=False, actor=ACTOR,
                                                reason="demo data")
        for demo, iban in zip(DEMO_MERCHANTS, DEMO_PAYOUT_IBANS, strict=True):
            merchant = selectors.merchant_by_legal_name(demo["legal_name"])
            if selectors.payout_bank_account(merchant_id=merchant.pk, currency="BHD") is None:
                services.bank_account_set(merchant_id=merchant.pk, currency="BHD", iban=iban, bic="BMAGBHBM",
                                          beneficiary_name=demo["legal_name"], actor=ACTOR, reason="demo data")

    def _treasury(self) -> None:
        """A low-liquidity threshold on each demo nostro (unless one is set) and today's FX rates, so
        the treasury tiles and the FX API have something to show (a pair's rate again once it is stale)."""
        for nostro in (DEMO_NOSTRO, DEMO_SWEEP_NOSTRO):
            if treasury_selectors.nostro_threshold(code=nostro.code) is None:
                treasury_positions.nostro_threshold_set(code=nostro.code, threshold=DEMO_LOW_LIQUIDITY_THRESHOLD,
                                                        actor=ACTOR, reason="demo data")
        fresh = {(rate.base_currency, rate.quote_currency) for rate in fx_selectors.current_rates()
                 if not fx_selectors.rate_is_stale(rate)}
        as_of = clock.now().replace(microsecond=0).isoformat()
        rows = "".join(f"{base},{quote},{rate},{spread},{as_of},demo\n" for base, quote, rate, spread in DEMO_FX_RATES
                       if (base, quote) not in fresh)
        if rows:
            treasury_fx.fx_rates_import(content="base,quote,rate,spread,as_of,source\n" + rows, actor=ACTOR,
                                        reason="demo data", filename="demo-rates.csv")

    def _print(self, base_url: str, credentials: dict[str, Any]) -> None:
        lines = [
            "",
            "fincore demo",
            f"  admin     {base_url}/admin/   user {ADMIN_USERNAME}, password {credentials['admin_password']}",
            *(f"            {role}: user {username}, password {credentials['staff'][username]}"
              for username, role in DEMO_STAFF),
            "            (each enrols an authenticator app at the first sign-in)",
            f"  API docs  {base_url}/api/v1/docs/",
        ]
        for name, merchant in credentials["merchants"].items():
            lines.append(f"  merchant  {name} ({merchant['merchant_id']})")
            lines.append(f"            API key {merchant['secret_key']}")
        first_key = next(iter(credentials["merchants"].values()))["secret_key"]
        accounts = credentials["accounts"]
        lines += [
            f"  accounts  {DEMO_MERCHANTS[0]['legal_name']}: funding {accounts['demo-funding']}, "
            f"alice {accounts['alice']} (100.000 BHD), bob {accounts['bob']}",
            f'  try       curl -H "Authorization: Bearer {first_key}" {base_url}/api/v1/merchant',
            "",
        ]
        self.stdout.write("\n".join(lines))
