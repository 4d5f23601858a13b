"""The audit trail: who did what to which key, and which key uses were refused (SPEC §10)."""
