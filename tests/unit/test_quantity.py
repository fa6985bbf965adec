"""resource.Quantity: parsing, canonical strings, rounding, arithmetic, errors."""

from __future__ import annotations

import pytest

from pyk8s.machinery.quantity import (
    BINARY_SI,
    DECIMAL_EXPONENT,
    DECIMAL_SI,
    Quantity,
    QuantityError,
    canonicalize,
    is_quantity,
    parse_quantity,
    quantity_from_json,
)

FORMAT_MESSAGE = (
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)


@pytest.mark.parametrize(
    ("text", "canonical", "fmt"),
    [
        # decimal SI
        ("0", "0", DECIMAL_SI),
        ("100m", "100m", DECIMAL_SI),
        ("1500m", "1500m", DECIMAL_SI),
        ("1.5", "1500m", DECIMAL_SI),
        ("1000m", "1", DECIMAL_SI),
        (".5", "500m", DECIMAL_SI),
        ("1.", "1", DECIMAL_SI),
        ("500M", "500M", DECIMAL_SI),
        ("+1k", "1k", DECIMAL_SI),
        ("1000k", "1M", DECIMAL_SI),
        ("0.0001m", "100n", DECIMAL_SI),
        ("128974848", "128974848", DECIMAL_SI),
        ("-1.5", "-1500m", DECIMAL_SI),
        ("-0", "0", DECIMAL_SI),
        ("5E", "5E", DECIMAL_SI),
        # binary SI keeps its family when it can print a whole number of Ki/Mi/...
        ("1Ki", "1Ki", BINARY_SI),
        ("1024Mi", "1Gi", BINARY_SI),
        ("1536Mi", "1536Mi", BINARY_SI),
        ("1.5Gi", "1536Mi", BINARY_SI),
        ("1024Ki", "1Mi", BINARY_SI),
        ("1025Ki", "1025Ki", BINARY_SI),
        ("123Mi", "123Mi", BINARY_SI),
        ("7Ei", "7Ei", BINARY_SI),
        # ... but under 1024 or fractional it prints as decimal SI
        ("0.5Ki", "512", BINARY_SI),
        ("0.1Ki", "102400m", BINARY_SI),
        # decimal exponent
        ("2e3", "2e3", DECIMAL_EXPONENT),
        ("12e3", "12e3", DECIMAL_EXPONENT),
        ("1.5e3", "1500", DECIMAL_EXPONENT),
        ("100e3", "100e3", DECIMAL_EXPONENT),
        ("129e6", "129e6", DECIMAL_EXPONENT),
        ("1E-9", "1e-9", DECIMAL_EXPONENT),
        ("1e100", "10e99", DECIMAL_EXPONENT),
    ],
)
def test_canonical_forms(text: str, canonical: str, fmt: str) -> None:
    q = parse_quantity(text)
    assert str(q) == canonical
    assert q.format == fmt
    assert str(parse_quantity(canonical)) == canonical  # canonical forms are fixed points


def test_tiny_values_round_up_to_one_nano() -> None:
    assert str(parse_quantity("1e-10")) == "1e-9"
    assert str(parse_quantity("0.0000000001")) == "1n"
    assert str(parse_quantity("-0.0000000001")) == "-1n"  # away from zero


def test_huge_binary_values_are_capped_at_int64() -> None:
    assert str(parse_quantity("16Ei")) == "9223372036854775807"
    assert parse_quantity("8Ei").value() == 2**63 - 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", FORMAT_MESSAGE),
        ("abc", FORMAT_MESSAGE),
        ("1.2.3", FORMAT_MESSAGE),
        ("1Z", FORMAT_MESSAGE),
        (" 1", FORMAT_MESSAGE),
        ("1e1.5", FORMAT_MESSAGE),
        ("1i", "unable to parse quantity's suffix"),
        ("1e", "unable to parse quantity's suffix"),
        ("e", "unable to parse quantity's suffix"),
        ("--1", "unable to parse quantity's suffix"),
    ],
)
def test_errors(text: str, message: str) -> None:
    with pytest.raises(QuantityError) as info:
        parse_quantity(text)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)
    assert not is_quantity(text)


def test_value_and_milli_value_round_away_from_zero() -> None:
    assert parse_quantity("1500m").value() == 2
    assert parse_quantity("-1500m").value() == -2
    assert parse_quantity("100m").milli_value() == 100
    assert parse_quantity("1n").milli_value() == 1
    assert parse_quantity("2").milli_value() == 2000
    assert parse_quantity("1Gi").value() == 1073741824
    assert parse_quantity("250m").as_float() == 0.25


def test_compare_ignores_format() -> None:
    assert parse_quantity("1Ki") == parse_quantity("1024")
    assert parse_quantity("1k") < parse_quantity("1Ki")
    assert parse_quantity("500m") <= parse_quantity("0.5")
    assert parse_quantity("2") > parse_quantity("1999m")
    assert parse_quantity("1").cmp(parse_quantity("1000m")) == 0
    assert len({parse_quantity("1"), parse_quantity("1000m")}) == 1


def test_arithmetic_keeps_receiver_format_unless_zero() -> None:
    total = parse_quantity("1Gi") + parse_quantity("512Mi")
    assert str(total) == "1536Mi"
    assert str(parse_quantity("1") - parse_quantity("250m")) == "750m"
    assert str(parse_quantity("0") + parse_quantity("1Gi")) == "1Gi"
    assert str(parse_quantity("100m") * 3) == "300m"
    assert str(-parse_quantity("2Ki")) == "-2Ki"
    assert str(Quantity.from_milli(1500)) == "1500m"
    assert str(Quantity.from_int(2048, BINARY_SI)) == "2Ki"


def test_json_numbers_and_whitespace() -> None:
    assert str(quantity_from_json(2)) == "2"
    assert str(quantity_from_json(0.5)) == "500m"
    assert str(quantity_from_json(" 1Gi ")) == "1Gi"
    assert quantity_from_json(None) is None
    with pytest.raises(QuantityError):
        quantity_from_json(True)


def test_canonicalize() -> None:
    assert canonicalize("1.5") == "1500m"
    assert canonicalize(3) == "3"
