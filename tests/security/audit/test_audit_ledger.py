"""What one request's ledger keeps of the resources it disclosed (security/ledger.py): the first MAX_LISTED
references, and how many more there were."""

from __future__ import annotations

from security.ledger import MAX_LISTED, Ledger


def test_references_beyond_the_listed_ones_are_counted() -> None:
    ledger = Ledger()
    ledger.disclose([f"Slot/{n}" for n in range(150)], set())
    ledger.disclose([f"Schedule/{n}" for n in range(100)], {"Patient/p"})
    assert len(ledger.resources) == MAX_LISTED
    assert ledger.resources[149:151] == ["Slot/149", "Schedule/0"]
    assert ledger.more == 50
    assert ledger.patients == {"Patient/p"}


def test_a_caller_may_pass_only_the_first_references_with_their_count() -> None:
    whole, first = Ledger(), Ledger()
    references = [f"Slot/{n}" for n in range(450)]
    whole.disclose(references, set())
    first.disclose(references[:MAX_LISTED], set(), count=len(references))
    assert (first.resources, first.more) == (whole.resources, whole.more) == (references[:MAX_LISTED], 250)
