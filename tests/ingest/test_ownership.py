"""Pure parts of a limited key's writes: the rounds a batch is written in."""

from __future__ import annotations

from gateway.ingest.entities import IDENTITIES
from gateway.ingest.ownership import rounds


def test_an_entity_named_several_times_is_written_once_per_round_in_order() -> None:
    valid = [(i, {"usr_id": usr}, {"usr_id": usr}) for i, usr in enumerate(["a", "b", "a", "a", "c", "b"])]
    split = rounds(IDENTITIES, valid)
    assert [[entry[0] for entry in batch] for batch in split] == [[0, 1, 4], [2, 5], [3]]
    assert rounds(IDENTITIES, []) == [[]]
