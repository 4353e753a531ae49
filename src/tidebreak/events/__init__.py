"""Domain events: an outbox written with each change (`types`, `outbox`, `decisions`: the
records every part may write), delivered to sinks at least once (`sinks`, `dispatch`, `plugin`,
`nats_sink`, `cli`: the delivery service; `tidebreak.runtime.dispatcher_for` assembles it).
This package imports nothing on its own, so writing an event stays cheap to import."""
