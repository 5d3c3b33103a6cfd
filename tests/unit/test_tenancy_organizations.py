"""The organization tree's rules: depth, cycles, caps and what may be deleted."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from wrapper.kernel.errors import Conflict, InvalidInput
from wrapper.tenancy.organizations import (
    MAX_DEPTH,
    MAX_UNITS,
    NewOrganization,
    OrganizationUpdate,
    depth_of,
    descendants,
    ensure_can_add,
    ensure_can_move,
    ensure_can_remove,
    height_of,
)

# root ─┬─ a ── a1 ── a2
#       └─ b
# other (a second root)
TREE: dict[str, str | None] = {"root": None, "a": "root", "a1": "a", "a2": "a1", "b": "root", "other": None}


def _chain(levels: int) -> dict[str, str | None]:
    """u1 at the top, u<levels> at the bottom."""
    return {f"u{n}": (f"u{n - 1}" if n > 1 else None) for n in range(1, levels + 1)}


def test_a_root_is_level_one_and_each_child_one_deeper() -> None:
    assert [depth_of(TREE, u) for u in ("root", "a", "a1", "a2", "b", "other")] == [1, 2, 3, 4, 2, 1]


def test_descendants_are_every_unit_below_and_nothing_else() -> None:
    assert descendants(TREE, "root") == {"a", "a1", "a2", "b"}
    assert descendants(TREE, "a2") == set()


def test_height_counts_the_levels_a_subtree_spans() -> None:
    assert height_of(TREE, "root") == 4
    assert height_of(TREE, "a1") == 2
    assert height_of(TREE, "b") == 1


@pytest.mark.parametrize("new_parent", ["a", "a1", "a2"])
def test_moving_a_unit_under_itself_or_its_own_units_is_a_conflict(new_parent: str) -> None:
    # Given the tree, When "a" is moved under itself or one of its descendants, Then it is refused
    with pytest.raises(Conflict):
        ensure_can_move(TREE, "a", new_parent)


@pytest.mark.parametrize("new_parent", ["b", "other", None])
def test_moving_a_unit_elsewhere_or_to_the_top_is_allowed(new_parent: str | None) -> None:
    ensure_can_move(TREE, "a", new_parent)


def test_moving_under_an_unknown_unit_is_invalid() -> None:
    with pytest.raises(InvalidInput):
        ensure_can_move(TREE, "a", "nowhere")


def test_a_move_that_would_push_the_subtree_past_the_depth_cap_is_invalid() -> None:
    # Given a chain MAX_DEPTH - 2 deep and a separate 3-level subtree
    tree = {**_chain(MAX_DEPTH - 2), "s": None, "s1": "s", "s2": "s1"}
    # When the subtree moves under the chain's bottom it would reach MAX_DEPTH + 1 levels
    with pytest.raises(InvalidInput):
        ensure_can_move(tree, "s", f"u{MAX_DEPTH - 2}")
    # But one level up it fits exactly
    ensure_can_move(tree, "s", f"u{MAX_DEPTH - 3}")


def test_a_unit_can_be_added_down_to_the_depth_cap_and_no_further() -> None:
    ensure_can_add(_chain(MAX_DEPTH - 1), f"u{MAX_DEPTH - 1}")
    with pytest.raises(InvalidInput):
        ensure_can_add(_chain(MAX_DEPTH), f"u{MAX_DEPTH}")


def test_adding_under_an_unknown_parent_is_invalid() -> None:
    with pytest.raises(InvalidInput) as refused:
        ensure_can_add(TREE, "nowhere")
    assert refused.value.errors == [{"field": "parent_id", "message": "no such unit"}]


def test_a_tenant_holds_at_most_the_unit_cap() -> None:
    full = {f"u{n}": None for n in range(MAX_UNITS)}
    with pytest.raises(Conflict):
        ensure_can_add(full, None)
    ensure_can_add(dict(list(full.items())[:-1]), None)


def test_only_a_unit_with_no_units_under_it_can_be_removed() -> None:
    with pytest.raises(Conflict):
        ensure_can_remove(TREE, "a1")
    ensure_can_remove(TREE, "a2")


@pytest.mark.parametrize("body", [{}, {"name": None}, {"name": ""}, {"name": "x" * 101}, {"name": "a", "x": 1},
                                  {"parent_id": "not-a-ulid"}, {"name": 5}])
def test_bad_unit_changes_are_refused_by_the_model(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        OrganizationUpdate.model_validate(body)


def test_a_change_distinguishes_moving_to_the_top_from_not_moving() -> None:
    assert "parent_id" in OrganizationUpdate.model_validate({"parent_id": None}).model_fields_set
    assert "parent_id" not in OrganizationUpdate.model_validate({"name": "x"}).model_fields_set


def test_a_new_unit_name_is_trimmed_and_parent_is_optional() -> None:
    unit = NewOrganization.model_validate({"name": "  Sales "})
    assert unit.name == "Sales" and unit.parent_id is None
