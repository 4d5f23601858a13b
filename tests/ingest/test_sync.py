"""A full sync's deletes against a real Elasticsearch: what changed since it was read is never deleted."""

from __future__ import annotations

from elasticsearch import AsyncElasticsearch, Elasticsearch

from gateway.clock import SYSTEM_CLOCK
from gateway.ingest.entities import IDENTITIES
from gateway.ingest.leases import SyncLeases
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
