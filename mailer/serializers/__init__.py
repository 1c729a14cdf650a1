"""Request and response shapes of the mailer API, one module per area."""
