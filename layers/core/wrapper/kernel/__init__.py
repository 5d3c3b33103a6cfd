"""The leaf every other package may import, and which imports none of them: the actor and its tenant,
permissions, errors, pages and cursors, numbers, clocks, timestamps and the models' base. No I/O lives
here."""
