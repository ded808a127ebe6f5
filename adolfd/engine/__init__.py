"""The job engine: declaring, enqueueing, running, scheduling and recording jobs."""
