"""The event backbone: envelope, catalog of types, outbox writes, publishing and consuming."""
