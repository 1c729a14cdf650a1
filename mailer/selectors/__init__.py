"""Reads of the mailer's data, one module per area."""
