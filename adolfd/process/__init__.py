"""Process plumbing: database pool, logs, metrics, clock, systemd notification, resources."""
