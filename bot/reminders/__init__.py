"""Time-based work: the scheduler, its due-work functions, and outbox delivery."""
