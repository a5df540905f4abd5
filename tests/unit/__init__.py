"""Pure and store-only tests: no bot process, no Discord stand-in; a database is real."""
