"""Billing: meter catalogue, usage ledger, Stripe meter events, invoice preview, period close."""
