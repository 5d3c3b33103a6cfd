"""The local Stripe server: localstripe (a stateful fake of Stripe's API that signs its webhooks),
extended with what it lacks and Wrapper calls (Checkout and portal sessions, completing a session,
declines). ``python -m localcloud.stripe`` serves it alone."""

from localcloud.stripe.server import LocalStripe

__all__ = ["LocalStripe"]
