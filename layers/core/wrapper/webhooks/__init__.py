"""Stripe webhooks: receive (verify, dedupe, enqueue), then apply each event once, in object order.

``receive`` runs behind ``POST /v1/webhooks/stripe`` and answers quickly; ``consumer.process`` runs on the
queue and calls the domain's effects through the ``EventEffects`` port.
"""
