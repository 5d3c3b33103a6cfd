"""CloudFormation intrinsic functions, as the local cloud resolves them."""

from __future__ import annotations

from typing import Any

import pytest

from localcloud.intrinsics import Context, TemplateError, dependencies, resolve

TABLE_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/wrapper"
QUEUE_URL = "http://localhost:4566/123456789012/billing"


def context(**changes: Any) -> Context:
    """A stack half-way through creation: Table and Queue exist, parameters and conditions are known."""
    values: dict[str, Any] = {
        "parameters": {"Stage": "dev", "Subnets": "subnet-a,subnet-b,subnet-c"},
        "pseudo": {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::StackName": "wrapper",
                   "AWS::Partition": "aws"},
        "refs": {"Table": "wrapper", "Queue": QUEUE_URL},
        "attrs": {"Table": {"Arn": TABLE_ARN, "StreamArn": f"{TABLE_ARN}/stream/1"},
                  "Queue": {"Arn": "arn:aws:sqs:us-east-1:123456789012:billing", "Endpoint.Address": "q.local"}},
        "condition_defs": {"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
                           "IsDev": {"Fn::Equals": [{"Ref": "Stage"}, "dev"]},
                           "IsNotProd": {"Fn::Not": [{"Condition": "IsProd"}]}},
    }
    values.update(changes)
    return Context(**values)


# ---------------------------------------------------------------- Ref


@pytest.mark.parametrize(("name", "value"), [
    ("Stage", "dev"),
    ("AWS::Region", "us-east-1"),
    ("Table", "wrapper"),
], ids=["parameter", "pseudo-parameter", "resource"])
def test_ref_gives_a_parameters_pseudo_parameters_or_resources_value(name: str, value: str) -> None:
    # Given / When a Ref is resolved / Then it is the named thing's value
    assert resolve({"Ref": name}, context()) == value


def test_ref_to_something_not_created_yet_is_a_template_error() -> None:
    # Given / When a Ref names a resource that does not exist (yet)
    # Then resolving fails with a template error naming it
    with pytest.raises(TemplateError, match="Bucket"):
        resolve({"Ref": "Bucket"}, context())


# ---------------------------------------------------------------- Fn::GetAtt


@pytest.mark.parametrize("get_att", ["Table.Arn", ["Table", "Arn"]], ids=["string", "list"])
def test_get_att_reads_an_attribute_in_either_form(get_att: Any) -> None:
    # Given / When an attribute is read in the short string or the list form
    # Then it is the resource's attribute
    assert resolve({"Fn::GetAtt": get_att}, context()) == TABLE_ARN


def test_get_att_keeps_dots_after_the_first_in_the_attribute_name() -> None:
    # Given / When an attribute whose name has a dot is read in the string form
    # Then only the first dot separates resource from attribute
    assert resolve({"Fn::GetAtt": "Queue.Endpoint.Address"}, context()) == "q.local"


def test_get_att_of_an_unknown_attribute_is_a_template_error() -> None:
    # Given / When an attribute the resource does not have is read
    # Then resolving fails with a template error
    with pytest.raises(TemplateError, match=r"Table\.Nope"):
        resolve({"Fn::GetAtt": ["Table", "Nope"]}, context())


# ---------------------------------------------------------------- Fn::Sub


def test_sub_string_form_fills_parameters_pseudo_parameters_and_resources() -> None:
    # Given / When a Sub string names a parameter, a pseudo parameter and a resource
    value = resolve({"Fn::Sub": "${AWS::StackName}-${Stage}-${Table}"}, context())

    # Then each is replaced by its value
    assert value == "wrapper-dev-wrapper"


def test_sub_fills_resource_attributes() -> None:
    # Given / When a Sub string names ${Resource.Attribute}
    value = resolve({"Fn::Sub": "${Table.Arn}/index/*"}, context())

    # Then it is replaced by the attribute
    assert value == f"{TABLE_ARN}/index/*"


def test_sub_list_form_fills_its_own_variables_resolved_first() -> None:
    # Given a Sub in list form whose variables are themselves intrinsics
    value = {"Fn::Sub": ["${Name}:${Arn}:${Stage}", {"Name": "orders", "Arn": {"Fn::GetAtt": "Table.Arn"}}]}

    # When it is resolved
    # Then its variables and the template's other names are all filled
    assert resolve(value, context()) == f"orders:{TABLE_ARN}:dev"


def test_sub_list_form_variables_win_over_parameters_of_the_same_name() -> None:
    # Given / When a Sub variable shadows a parameter
    value = resolve({"Fn::Sub": ["${Stage}", {"Stage": "shadow"}]}, context())

    # Then the variable is used
    assert value == "shadow"


def test_sub_leaves_an_escaped_name_as_literal_text() -> None:
    # Given / When a Sub string holds ${!Literal} next to a real variable
    value = resolve({"Fn::Sub": "${!Literal}-${Stage}-${!Table.Arn}"}, context())

    # Then the escaped names come out as ${...} without the bang, unresolved
    assert value == "${Literal}-dev-${Table.Arn}"


def test_sub_leaves_a_substituted_value_as_it_is() -> None:
    # Given a parameter whose value itself contains ${!name}
    ctx = context(parameters={"Pattern": "${!name}"})

    # When a Sub inserts it
    value = resolve({"Fn::Sub": "x-${Pattern}"}, ctx)

    # Then the value is inserted unchanged
    assert value == "x-${!name}"


# ---------------------------------------------------------------- Fn::Join, Fn::Select, Fn::Split


def test_join_concatenates_resolved_values_with_the_delimiter() -> None:
    # Given / When a Join of literals and intrinsics is resolved
    value = resolve({"Fn::Join": [":", ["arn", {"Ref": "AWS::Partition"}, "sqs", {"Ref": "Stage"}]]}, context())

    # Then it is the values joined by the delimiter
    assert value == "arn:aws:sqs:dev"


def test_join_leaves_out_no_value_items() -> None:
    # Given / When a Join list holds AWS::NoValue
    value = resolve({"Fn::Join": ["-", ["a", {"Ref": "AWS::NoValue"}, "b"]]}, context())

    # Then it is left out
    assert value == "a-b"


def test_select_picks_the_indexed_item_of_a_split() -> None:
    # Given / When the second item of a split parameter is selected
    value = resolve({"Fn::Select": [1, {"Fn::Split": [",", {"Ref": "Subnets"}]}]}, context())

    # Then it is that item
    assert value == "subnet-b"


def test_select_takes_its_index_as_a_string_too() -> None:
    # Given / When the index is given as a string, as YAML templates often do
    value = resolve({"Fn::Select": ["0", ["first", "second"]]}, context())

    # Then it is still an index
    assert value == "first"


def test_split_gives_the_parts_of_a_string() -> None:
    # Given / When a literal string is split
    # Then the parts come back in order
    assert resolve({"Fn::Split": ["/", "a/b/c"]}, context()) == ["a", "b", "c"]


# ---------------------------------------------------------------- conditions, Fn::If, AWS::NoValue


@pytest.mark.parametrize(("condition", "expected"), [("IsDev", "dev-value"), ("IsProd", "prod-value")])
def test_if_takes_the_branch_its_condition_selects(condition: str, expected: str) -> None:
    # Given / When an If on a condition is resolved
    value = resolve({"Fn::If": [condition, "dev-value", "prod-value"]}, context())

    # Then it takes the true branch when the condition holds, the false one otherwise
    assert value == expected


def test_a_condition_can_build_on_another_condition() -> None:
    # Given / When an If uses a condition defined as Not of another
    value = resolve({"Fn::If": ["IsNotProd", "yes", "no"]}, context())

    # Then the nested condition is evaluated
    assert value == "yes"


def test_a_condition_already_known_is_not_evaluated_again() -> None:
    # Given a context where IsProd is already decided true (its definition says otherwise)
    ctx = context(conditions={"IsProd": True})

    # When an If on it is resolved
    # Then the decided value is used
    assert resolve({"Fn::If": ["IsProd", "a", "b"]}, ctx) == "a"


def test_no_value_removes_the_key_that_holds_it() -> None:
    # Given / When a properties map has a key whose value is AWS::NoValue
    value = resolve({"TableName": "wrapper", "KmsKeyId": {"Ref": "AWS::NoValue"}}, context())

    # Then the key is gone
    assert value == {"TableName": "wrapper"}


def test_an_if_answering_no_value_removes_its_key() -> None:
    # Given / When a key's value is If(IsProd, ..., AWS::NoValue) and the stage is dev
    value = resolve({"Name": "q", "Retention": {"Fn::If": ["IsProd", 1209600, {"Ref": "AWS::NoValue"}]}}, context())

    # Then the key is gone
    assert value == {"Name": "q"}


def test_no_value_is_removed_from_lists() -> None:
    # Given / When a list holds AWS::NoValue
    value = resolve({"Tags": ["a", {"Ref": "AWS::NoValue"}, "b"]}, context())

    # Then the item is gone
    assert value == {"Tags": ["a", "b"]}


def test_intrinsics_nested_in_maps_and_lists_are_resolved() -> None:
    # Given / When a properties map nests intrinsics in maps in lists
    value = resolve({"Environment": {"Variables": {"TABLE": {"Ref": "Table"}}},
                     "Policies": [{"Resource": {"Fn::GetAtt": "Table.StreamArn"}}]}, context())

    # Then every level is resolved
    assert value == {"Environment": {"Variables": {"TABLE": "wrapper"}},
                     "Policies": [{"Resource": f"{TABLE_ARN}/stream/1"}]}


# ---------------------------------------------------------------- dependencies

RESOURCES = {"Table", "Queue", "Function"}


def test_a_ref_to_a_resource_is_a_dependency() -> None:
    # Given / When a value refers to a resource / Then that resource is a dependency
    assert dependencies({"TableName": {"Ref": "Table"}}, RESOURCES) == {"Table"}


def test_refs_to_parameters_and_pseudo_parameters_are_not_dependencies() -> None:
    # Given / When a value refers to a parameter and a pseudo parameter only
    found = dependencies({"A": {"Ref": "Stage"}, "B": {"Ref": "AWS::Region"}, "C": {"Ref": "AWS::NoValue"}},
                         RESOURCES)

    # Then there are no dependencies
    assert found == set()


@pytest.mark.parametrize("get_att", ["Queue.Arn", ["Queue", "Arn"]], ids=["string", "list"])
def test_a_get_att_in_either_form_is_a_dependency(get_att: Any) -> None:
    # Given / When a value reads a resource's attribute / Then that resource is a dependency
    assert dependencies({"Fn::GetAtt": get_att}, RESOURCES) == {"Queue"}


def test_sub_names_and_attributes_of_resources_are_dependencies() -> None:
    # Given / When a Sub string names one resource and the attribute of another, and a parameter
    found = dependencies({"Fn::Sub": "${Table}/${Queue.Arn}/${Stage}/${AWS::Region}"}, RESOURCES)

    # Then both resources, and nothing else, are dependencies
    assert found == {"Table", "Queue"}


def test_sub_list_form_dependencies_come_from_the_template_and_the_variables() -> None:
    # Given / When a list-form Sub names a resource in its template and refers to another in a variable
    found = dependencies({"Fn::Sub": ["${Table}:${Target}", {"Target": {"Fn::GetAtt": "Function.Arn"}}]},
                         RESOURCES)

    # Then both are dependencies
    assert found == {"Table", "Function"}


def test_a_sub_variable_named_like_a_resource_is_not_a_dependency() -> None:
    # Given / When a list-form Sub defines its own variable Queue, shadowing the resource Queue
    found = dependencies({"Fn::Sub": ["${Queue}-dlq", {"Queue": "literal"}]}, RESOURCES)

    # Then the resource Queue is not a dependency
    assert found == set()


def test_an_escaped_sub_name_is_not_a_dependency() -> None:
    # Given / When a Sub string holds ${!Table}
    # Then Table is not a dependency
    assert dependencies({"Fn::Sub": "${!Table}"}, RESOURCES) == set()


def test_dependencies_are_found_at_any_depth() -> None:
    # Given / When references are nested in lists of maps inside other intrinsics
    value = {"Policies": [{"Statement": [{"Resource": {"Fn::Join": ["", [{"Fn::GetAtt": "Table.Arn"}, "/*"]]}}]}],
             "Events": {"Q": {"Properties": {"Queue": {"Fn::If": ["IsProd", {"Ref": "Queue"}, "none"]}}}}}

    # Then they are all found
    assert dependencies(value, RESOURCES) == {"Table", "Queue"}
