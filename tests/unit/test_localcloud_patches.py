"""The local cloud's register of patches: each applied once, all undone on stop."""

from __future__ import annotations

from localcloud.patches import Patches


class Library:
    def greet(self) -> str:
        return "hello"


class Derived(Library):
    pass


def test_a_named_patch_applies_once_until_undone() -> None:
    # Given a register
    patches = Patches()

    # When one name is asked for twice, then after an undo
    first, again = patches.first("greeting"), patches.first("greeting")
    patches.undo()

    # Then only the first ask applies it, and after the undo it may apply again
    assert (first, again, patches.first("greeting")) == (True, False, True)


def test_undo_puts_back_what_was_replaced_newest_first() -> None:
    # Given a method replaced twice, each wrapping the one before, and an inherited one shadowed
    patches = Patches()
    original = Library.greet
    patches.replace(Library, "greet", lambda self: "hi")
    patches.replace(Library, "greet", lambda self: "hey")
    patches.replace(Derived, "greet", lambda self: "yo")
    assert (Library().greet(), Derived().greet()) == ("hey", "yo")

    # When the register is undone
    patches.undo()

    # Then the library's own method is back, and the subclass inherits it again
    assert Library.greet is original and "greet" not in vars(Derived)
    assert (Library().greet(), Derived().greet(), patches.applied()) == ("hello", "hello", [])
