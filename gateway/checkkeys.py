"""Check keys of French national identifiers: the Luhn key of FINESS and RPPS numbers (hence of idNat_PS)."""

from __future__ import annotations


def luhn_sum(digits: str) -> int:
    """The Luhn sum of ``digits`` (the rightmost digit is not doubled)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if not 0 <= value <= 9:
            raise ValueError(f"not a digit string: {digits!r}")
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total


def luhn_is_valid(number: str) -> bool:
    """Whether ``number`` (digits, key last) passes the Luhn check."""
    return bool(number) and number.isascii() and number.isdigit() and luhn_sum(number) % 10 == 0


def luhn_key(payload: str) -> str:
    """The digit to append to ``payload`` so that the whole number passes the Luhn check."""
    return str((10 - luhn_sum(payload + "0") % 10) % 10)


__all__ = ["luhn_is_valid", "luhn_key", "luhn_sum"]
