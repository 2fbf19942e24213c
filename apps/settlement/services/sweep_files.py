"""The pain.001 of a treasury sweep: one credit transfer from one of fincore's nostros (the debtor)
to another of its own (the creditor), written by the payout files' writer and so validated against
the official XSD before it is returned. Treasury sits below settlement: it is handed this function
in settlement's ``AppConfig.ready`` and calls it when a sweep is sent."""

from apps.settlement.adapters import pain001
from apps.treasury.data import SweepInstruction


def sweep_file_write(instruction: SweepInstruction) -> bytes:
    """The pain.001.001.09 of ``instruction``: message and payment information id the sweep's public
    id, its end-to-end id, the paying nostro as debtor, the receiving one as creditor (by IBAN and
    BIC). Raises the writer's CreditTransferFileRefused (a field the schema cannot carry)."""
    debtor, creditor = instruction.debtor, instruction.creditor
    return pain001.credit_transfer_initiation_xml(pain001.CreditTransferInitiation(
        message_id=instruction.public_id, created_at=instruction.created_at,
        requested_execution_date=instruction.execution_date,
        debtor=pain001.Debtor(name=debtor.account_name, iban=debtor.iban, bic=debtor.bic),
        payment_information_id=instruction.public_id,
        transfers=(pain001.CreditTransfer(
            end_to_end_id=instruction.end_to_end_id, amount=instruction.amount, currency=instruction.currency,
            creditor_name=creditor.account_name, creditor_iban=creditor.iban, creditor_bic=creditor.bic,
            remittance=f"Sweep {instruction.public_id} from {debtor.code} to {creditor.code}",
        ),),
    ))
