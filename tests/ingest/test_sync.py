"""A full sync's deletes against a real Elasticsearch: what changed since it was read is never deleted."""

from __future__ import annotations

import pytest
from elasticsearch import AsyncElasticsearch, Elasticsearch

from gateway.clock import SYSTEM_CLOCK
from gateway.errors import Conflict
from gateway.ingest.entities import IDENTITIES, document_id
from gateway.ingest.leases import LEASE_INDEX, SyncLeases
from gateway.ingest.sync import SyncService, stale
from gateway.ingest.writer import Action, Ingestor, RunStamp
from gateway.settings import Settings
from tests.helpers import with_es

DATASOURCE = "ds-1"


def test_an_entity_rewritten_by_the_run_after_the_stale_search_is_not_deleted(
    es: Elasticsearch, settings: Settings
) -> None:
    async def work(client: AsyncElasticsearch) -> tuple[int, list[str]]:
        ingestor = Ingestor(client, settings.tenant_name)
        service = SyncService(
            client, settings.tenant_name, settings.datasource_index, SyncLeases(client, SYSTEM_CLOCK, 60), 1.0
        )
        index = IDENTITIES.index(settings.tenant_name)
        users = [{"usr_id": "u1"}, {"usr_id": "u2"}]
        await ingestor.ingest(IDENTITIES, Action.UPSERT, users, RunStamp(DATASOURCE, "old-run"))
        await client.indices.refresh(index=index)
        found = await client.search(
            index=index, query=stale(DATASOURCE, "new-run"), seq_no_primary_term=True, sort=["_doc"]
        )
        hits = found["hits"]["hits"]
        assert len(hits) == 2
        # Meanwhile the new run writes u1 again: it is in the source after all.
        await ingestor.ingest(IDENTITIES, Action.UPSERT, users[:1], RunStamp(DATASOURCE, "new-run"))
        deleted = await service._delete_page(IDENTITIES, hits)
        await client.indices.refresh(index=index)
        left = await client.search(index=index)
        return deleted, [h["_source"]["usr_id"] for h in left["hits"]["hits"]]

    assert with_es(settings, work) == (1, ["u1"])


def test_a_data_source_whose_document_no_reader_can_use_starts_no_run(
    es: Elasticsearch, settings: Settings
) -> None:
    document = {
        "datasource_id": DATASOURCE,
        "isActive": True,
        "sync_type": "full",
        "entityTypes": {"/x": "y"},
    }
    es.index(index=settings.datasource_index, id=document_id(DATASOURCE), document=document, refresh=True)

    async def start(client: AsyncElasticsearch) -> None:
        leases = SyncLeases(client, SYSTEM_CLOCK, 60)
        await SyncService(client, settings.tenant_name, settings.datasource_index, leases, 1.0).start(
            DATASOURCE, "t"
        )

    with pytest.raises(Conflict, match=r"^data source ds-1: entityTypes: /x must map to an object$"):
        with_es(settings, start)
    assert es.options(ignore_status=404).get(index=LEASE_INDEX, id=DATASOURCE).meta.status == 404  # no lease
