"""Pure money and time arithmetic: amounts in minor units, billing periods, price models and proration.
No I/O; only ``wrapper.kernel`` below it."""
