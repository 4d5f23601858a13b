"""Admin users and passwords, admin tokens (JWT), API keys and their verification cache."""
