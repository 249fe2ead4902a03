"""Entry point of the ``seek`` plugin group: the finance apps and the finance term dictionary."""

from __future__ import annotations

from typing import Any

from seek import hookimpl


@hookimpl
def seek_apps() -> list[Any]:
    """The finance vertical's apps."""
    from seek_finance.app import FraudApp

    return [FraudApp()]


@hookimpl
def seek_term_dictionaries() -> list[Any]:
    """The finance term dictionary (merchant categories, payments and fraud vocabulary)."""
    from seek.data.terms import TermDictionary

    return [TermDictionary.from_package("seek_finance", "terms.json")]
