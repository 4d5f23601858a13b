"""Everything that talks to an Elasticsearch cluster: the clients, bulk writes, index templates, sniffing."""
