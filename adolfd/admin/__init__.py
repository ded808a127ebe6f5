"""What operators touch: the command line, the admin bot, alerts and their delivery, status."""
