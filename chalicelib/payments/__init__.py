"""Adapters that turn a payment into what a bank takes: the SEPA credit-transfer file (`sepa`)."""
