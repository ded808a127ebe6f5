"""Pure rules of the watcher module (seed 001): priorities, price alerts, recipients, agent health, the agent
event protocol and daily statistics. No I/O and no clock reads: the time is always an argument."""
