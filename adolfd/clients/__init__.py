"""Clients of the external APIs: one class per API over one shared httpx client, rate-limited and retried in one place
(`http.py`), errors mapped to adolfd.errors."""
