"""Human review: queues of tasks created by policy escalations and user reports."""
