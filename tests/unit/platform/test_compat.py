import copy

from schemas import catalog
from schemas.compat import backward_problems


def base():
    return catalog.event_type("ProductCreated").schema_dict()


def test_identical_schema_is_compatible():
    assert backward_problems(base(), base()) == []


def test_new_field_with_default_is_compatible():
    new = base()
    new["fields"].append({"name": "color", "type": ["null", "string"], "default": None})
    assert backward_problems(new, base()) == []


def test_new_field_without_default_names_the_field():
    new = base()
    new["fields"].append({"name": "color", "type": "string"})
    problems = backward_problems(new, base())
    assert len(problems) == 1 and "ProductCreated.color" in problems[0]
    assert "no default" in problems[0]


def test_removed_field_without_default_names_the_field():
    new = base()
    new["fields"] = [f for f in new["fields"] if f["name"] != "stock"]
    problems = backward_problems(new, base())
    assert len(problems) == 1 and "ProductCreated.stock" in problems[0]


def test_removed_field_that_had_a_default_is_compatible():
    old = base()
    old["fields"].append({"name": "color", "type": ["null", "string"], "default": None})
    assert backward_problems(base(), old) == []


def test_type_promotion_and_narrowing():
    new = base()
    stock = next(f for f in new["fields"] if f["name"] == "stock")
    stock["type"] = "long"  # int -> long is a promotion
    assert backward_problems(new, base()) == []
    narrowed = copy.deepcopy(new)
    assert backward_problems(base(), narrowed)  # long -> int is not


def test_nested_record_field_change_is_found():
    old = catalog.event_type("OrderPlaced").schema_dict()
    new = copy.deepcopy(old)
    line = next(f for f in new["fields"] if f["name"] == "lines")["type"]["items"]
    line["fields"].append({"name": "discount", "type": "int"})
    problems = backward_problems(new, old)
    assert problems and "discount" in problems[0]
