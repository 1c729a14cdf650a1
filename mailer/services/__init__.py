"""Writes and business rules of the mailer, one module per area."""
