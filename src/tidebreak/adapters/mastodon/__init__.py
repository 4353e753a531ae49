"""The Mastodon adapter: admin webhooks in (`webhook`, `router`), reports and account actions
back out through Mastodon's API (`sink`, `client`), and `tidebreak adapters mastodon check`.

Configured by TIDEBREAK_MASTODON_URL, TIDEBREAK_MASTODON_TOKEN and
TIDEBREAK_MASTODON_WEBHOOK_SECRET (`config`); with none of them set it does nothing.
"""
