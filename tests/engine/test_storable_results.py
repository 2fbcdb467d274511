"""What an adapter returns is made storable before anything stores it (`engine/invoke.py`):
the characters no database stores become U+FFFD, and a result with no JSON form is an error."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dspex_gql.engine.adapters.base import AdapterError, AdapterResult
from dspex_gql.engine.invoke import storable_result
from dspex_gql.storable_input import made_storable


def test_a_value_with_nothing_to_replace_is_the_same_object() -> None:
    value = {"answer": "naïve café ☕", "tags": ["a", "b"], "n": 1, "x": None}

    assert made_storable(value) is value


def test_nul_and_lone_surrogates_are_replaced_in_strings_and_keys_at_any_depth() -> None:
    value = {"a\x00": ["ok", {"deep": "x\ud800y"}], "b": "\udfff\x00", "n": 2.5}

    replaced = {"a\ufffd": ["ok", {"deep": "x\ufffdy"}], "b": "\ufffd\ufffd", "n": 2.5}
    assert made_storable(value) == replaced
    assert made_storable("\x00") == "\ufffd"


def test_a_clean_result_is_returned_as_it_is() -> None:
    result = AdapterResult(outputs={"answer": "4"}, trace={"calls": []}, metadata={"model": "m"})

    assert storable_result(result) is result


def test_a_result_with_unstorable_text_is_copied_with_replacements() -> None:
    result = AdapterResult(
        outputs={"answer": "4\x00"}, trace={"response": "\ud83d"}, metadata={"model": "m"}
    )

    stored = storable_result(result)

    assert stored.outputs == {"answer": "4\ufffd"}
    assert stored.trace == {"response": "\ufffd"}
    assert stored.metadata == {"model": "m"}
    assert result.outputs == {"answer": "4\x00"}  # the adapter's own result is left alone


def test_what_only_the_standard_library_writes_is_still_json() -> None:
    result = AdapterResult(outputs={"answer": 2**70, "by_id": {1: "one"}})

    assert storable_result(result) is result


@pytest.mark.parametrize("value", [object(), {1, 2}, b"bytes"])
def test_a_result_with_no_json_form_is_an_adapter_error(value: object) -> None:
    with pytest.raises(AdapterError, match=r"^the program's result is not JSON: "):
        storable_result(AdapterResult(outputs={"answer": value}))


@pytest.mark.parametrize(
    ("usage", "problem"),
    [
        (
            {"prompt_tokens": -1},
            "prompt_tokens must be a whole number from 0 to 2147483647, not -1",
        ),
        (
            {"completion_tokens": 2**31},
            "completion_tokens must be a whole number from 0 to 2147483647, not 2147483648",
        ),
        (
            {"prompt_tokens": 1.5},
            "prompt_tokens must be a whole number from 0 to 2147483647, not 1.5",
        ),
        (
            {"prompt_tokens": True},
            "prompt_tokens must be a whole number from 0 to 2147483647, not True",
        ),
        ({"cost": float("nan")}, "cost must be a finite number of 0 or more, not nan"),
        ({"cost": float("inf")}, "cost must be a finite number of 0 or more, not inf"),
        ({"cost": -0.01}, "cost must be a finite number of 0 or more, not -0.01"),
    ],
)
def test_usage_that_is_no_count_or_price_is_an_adapter_error(
    usage: dict[str, object], problem: str
) -> None:
    with pytest.raises(AdapterError) as caught:
        storable_result(AdapterResult(outputs={"answer": "4"}, **usage))  # type: ignore[arg-type]

    assert str(caught.value) == f"the program's result is not storable: {problem}"


def test_usage_at_its_bounds_is_kept() -> None:
    result = AdapterResult(outputs={}, prompt_tokens=0, completion_tokens=2**31 - 1, cost=0)

    assert storable_result(result) is result


def test_what_orjson_writes_is_json_though_the_standard_library_would_refuse_it() -> None:
    """`json_codec` writes with orjson first: a datetime beside a NUL is stored."""
    at = datetime(2026, 12, 7, tzinfo=UTC)

    stored = storable_result(AdapterResult(outputs={"at": at, "answer": "4\x00"}))

    assert stored.outputs == {"at": at, "answer": "4\ufffd"}
