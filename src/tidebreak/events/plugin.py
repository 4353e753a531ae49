"""Built-in event sinks, configured from the environment:

- TIDEBREAK_WEBHOOK_URL + TIDEBREAK_WEBHOOK_SECRET: the sink named "webhook", taking the types
  in TIDEBREAK_WEBHOOK_EVENTS (default every type);
- TIDEBREAK_EVENT_SINKS: a YAML file listing more webhook destinations, each with its own
  secret (read from the environment variable it names, never from the file) and filter:

      - name: crm
        url: https://crm.example/hooks/tidebreak
        secret_env: CRM_WEBHOOK_SECRET
        events: [account.*, group.stage_changed]

- TIDEBREAK_EVENTS_NATS_SUBJECT (with TIDEBREAK_NATS_URL): every event published to
  `<subject>.<event type>` on NATS JetStream, deduplicated by the event's key.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

from tidebreak.config import Settings
from tidebreak.errors import ConfigError
from tidebreak.events.sinks import EventSink, WebhookSink
from tidebreak.events.types import parse_types
from tidebreak.hookspecs import hookimpl

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class SinkConfigError(ConfigError):
    pass


def _file_sinks(path: Path, settings: Settings) -> list[EventSink]:
    try:
        spec: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise SinkConfigError(f"TIDEBREAK_EVENT_SINKS: cannot read {path}: {e}") from None
    if not isinstance(spec, list):
        raise SinkConfigError(f"{path}: expected a list of sinks")
    sinks: list[EventSink] = []
    for i, item in enumerate(spec, 1):
        if not isinstance(item, dict):
            raise SinkConfigError(f"{path}: sink {i} is not a mapping")
        name, url, secret_env = item.get("name"), item.get("url"), item.get("secret_env")
        if not isinstance(name, str) or not _NAME.match(name):
            raise SinkConfigError(f"{path}: sink {i}: name must match {_NAME.pattern}")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise SinkConfigError(f"{path}: sink {name!r}: url must be http(s)")
        if not isinstance(secret_env, str) or not os.environ.get(secret_env):
            raise SinkConfigError(f"{path}: sink {name!r}: secret_env must name a set "
                                  "environment variable holding the signing secret")
        try:
            types = parse_types(item.get("events"))
        except ValueError as e:
            raise SinkConfigError(f"{path}: sink {name!r}: {e}") from None
        sinks.append(WebhookSink(name, url, os.environ[secret_env], types,
                                 timeout=settings.webhook_timeout))
    return sinks


@hookimpl
def tidebreak_event_sinks(settings: Settings, engine: object) -> list[EventSink]:
    sinks: list[EventSink] = []
    if settings.webhook_url:
        if not settings.webhook_secret:
            raise SinkConfigError("TIDEBREAK_WEBHOOK_SECRET is required to send webhooks "
                                  "(receivers check the HMAC signature with it)")
        try:
            types = parse_types(os.environ.get("TIDEBREAK_WEBHOOK_EVENTS"))
        except ValueError as e:
            raise SinkConfigError(f"TIDEBREAK_WEBHOOK_EVENTS: {e}") from None
        sinks.append(WebhookSink("webhook", settings.webhook_url, settings.webhook_secret, types,
                                 timeout=settings.webhook_timeout))
    path = os.environ.get("TIDEBREAK_EVENT_SINKS")
    if path:
        sinks.extend(_file_sinks(Path(path), settings))
    subject = os.environ.get("TIDEBREAK_EVENTS_NATS_SUBJECT")
    if subject:
        if not settings.nats_url:
            raise SinkConfigError("TIDEBREAK_EVENTS_NATS_SUBJECT needs TIDEBREAK_NATS_URL")
        from tidebreak.events.nats_sink import NatsSink

        sinks.append(NatsSink(settings.nats_url, subject, work_subject=settings.nats_subject))
    return sinks
