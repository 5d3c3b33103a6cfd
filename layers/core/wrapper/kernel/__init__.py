"""The leaf every other package may import, and which imports none of them: the actor, its tenant and
the request it came with, permissions, errors, pages and cursors, numbers, clocks, timestamps and the
models' base. No I/O lives here."""
