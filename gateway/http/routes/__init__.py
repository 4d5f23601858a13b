"""The thin HTTP layer: one router per resource."""
