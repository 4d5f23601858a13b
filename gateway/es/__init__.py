"""Everything that talks to Elasticsearch: the client, index templates, the embedded node."""
