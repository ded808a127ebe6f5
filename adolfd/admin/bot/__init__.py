"""The Telegram admin bot (`adolfd bot`): one aiogram router per feature behind an admin filter.

- `access`: AdminFilter, the audit log, one polite refusal for everyone else
- `system`: /status, /queues, /schedule, /help
- `jobs`: /run, /job, /failed, /retry
- each module's router (its ModuleSpec's `bot_router`: marketing's /pause_bids, /resume_bids; reputation's
  /breakers, /approve; carsbot's /cars_posts, /cars_reprocess, /cars_skip, /cars_publish, /cars_sync, /cars_expiring)
- `app`: Bot and Dispatcher, polling plus the alert delivery loop, systemd notifications
- `commands`: the `adolfd bot` and `adolfd deliver-alerts` subcommands
Handlers only translate between chat and adolfd's functions; replies are built in `replies`.
"""
