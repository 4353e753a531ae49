"""Platform adapters: plug-ins that take a platform's own events in (webhooks) and act back
through its own API, so the platform needs no glue of its own (`mastodon`)."""
