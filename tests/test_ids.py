"""The id grammars: nothing they accept can change an Elasticsearch URL, and what they refuse is refused."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from elasticsearch._sync.client.utils import _quote
from hypothesis import given
from hypothesis import strategies as st

from gateway.auth.key_store import key_digest
from gateway.ids import DATASOURCE_ID, KEY_DIGEST, USERNAME, IdGrammar, InvalidId

GRAMMARS = [DATASOURCE_ID, USERNAME, KEY_DIGEST]
HOSTILE = [".", "..", "%2e", "%2e%2e", "/", "?", "#", "a/../b", "", " ", "a b", "\x00", "a\n", "a\u202eb"]


@pytest.mark.parametrize("grammar", GRAMMARS, ids=lambda g: g.what)
@given(data=st.data())
def test_an_accepted_id_is_one_path_segment_that_names_itself(
    grammar: IdGrammar, data: st.DataObject
) -> None:
    value = data.draw(st.from_regex(grammar.pattern, fullmatch=True) | st.text())
    if not grammar.valid(value):
        return
    segment = _quote(value)  # what the Elasticsearch client puts in the path
    assert segment not in ("", ".", "..")
    assert not set(segment) & set("/?#\\")
    assert unquote(segment) == value


@pytest.mark.parametrize("grammar", GRAMMARS, ids=lambda g: g.what)
@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_ids_are_refused_with_the_rule(grammar: IdGrammar, value: str) -> None:
    assert not grammar.valid(value)
    with pytest.raises(InvalidId, match=re.escape(grammar.rule)):
        grammar.check(value)


def test_the_grammars_take_the_ids_in_use_and_stop_at_their_size() -> None:
    assert DATASOURCE_ID.check("2d7a6a76-469c-4035-b312-fb1daf104e98")
    assert USERNAME.valid("bob.rodgers@forgerock.com") and USERNAME.valid("o'brien+ops@exämple.org")
    assert KEY_DIGEST.valid(key_digest(b"secret", "any key at all"))
    assert DATASOURCE_ID.valid("a" * 256) and not DATASOURCE_ID.valid("a" * 257)
    assert not DATASOURCE_ID.valid("é")  # ASCII only: the OpenAPI pattern means the same to every reader


def test_the_openapi_pattern_is_the_grammar() -> None:
    assert DATASOURCE_ID.anchored == f"^{DATASOURCE_ID.pattern}$"
    assert re.search(DATASOURCE_ID.anchored, "ds-1") and not re.search(DATASOURCE_ID.anchored, "ds/1")
