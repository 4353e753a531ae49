"""`tidebreak worker`, `tidebreak backfill start|resume|status`."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from tidebreak.cli_io import fail

DbOpt = Annotated[Optional[str], typer.Option("--db", help="Database URL (default: "
                  "$TIDEBREAK_DATABASE_URL or sqlite:///var/tidebreak.db).")]
NatsOpt = Annotated[Optional[str], typer.Option("--nats", help="Broker URL (default: "
                    "$TIDEBREAK_NATS_URL).")]

backfill_app = typer.Typer(help="Re-decide stored content through the workers (resumable).",
                           no_args_is_help=True)


def _broker(nats_url: str | None):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from tidebreak.config import Settings
    from tidebreak.scale.broker import BrokerConfig

    settings = Settings.from_env()
    if nats_url:
        settings = replace(settings, nats_url=nats_url)
    try:
        return settings, BrokerConfig.from_settings(settings)
    except ValueError as e:
        fail(str(e))


def worker(db: DbOpt = None, nats: NatsOpt = None,
           batch: Annotated[Optional[int], typer.Option(help="Messages per fetch (default: "
                                                        "$TIDEBREAK_WORKER_BATCH or 64).")] = None,
           name: Annotated[Optional[str], typer.Option(help="Worker name in logs.")] = None,
           metrics_port: Annotated[Optional[int], typer.Option(
               help="Serve Prometheus metrics on this port.")] = None) -> None:
    """Consume events from the broker and decide them; run as many as you like. Domain events
    go to the configured sinks (webhooks, NATS, adapters) from every worker. Stops cleanly on
    SIGTERM."""
    from tidebreak.cli_io import open_engine
    from tidebreak.runtime import build_pipeline
    from tidebreak.scale.logs import setup_logging
    from tidebreak.runtime import dispatcher_for
    from tidebreak.scale.worker import Worker, run_worker

    settings, cfg = _broker(nats)
    setup_logging(settings.log_level, settings.log_format)
    engine = open_engine(db)
    try:
        dispatcher = dispatcher_for(engine, settings)
    except ValueError as e:
        fail(str(e))
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port)
    pipelines: dict[str, object] = {}

    def pipeline_for(tenant: str):  # type: ignore[no-untyped-def]
        if tenant not in pipelines:
            pipelines[tenant] = build_pipeline(engine, settings, tenant=tenant)
        return pipelines[tenant]

    run_worker(Worker(engine, cfg, pipeline_for, batch=batch or settings.worker_batch,
                      max_text_bytes=settings.max_text_bytes, dispatcher=dispatcher, name=name))


# -- backfill -------------------------------------------------------------------------------------


def _publish(engine, producer, run_id: str) -> None:  # type: ignore[no-untyped-def]
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from tidebreak.scale.backfill import progress, publish_run
    from tidebreak.scale.broker import BrokerUnavailable

    p = progress(engine, run_id)
    with Progress(TextColumn("publishing {task.description}"), BarColumn(), MofNCompleteColumn(),
                  transient=True) as bar:
        task = bar.add_task(run_id, total=p.total, completed=p.published)
        try:
            publish_run(engine, producer, run_id, on_chunk=lambda n: bar.advance(task, n))
        except BrokerUnavailable as e:
            fail(f"{e} (resume with `tidebreak backfill resume {run_id}`)", 1)
        finally:
            producer.close()


@backfill_app.command("start")
def backfill_start(reason: Annotated[str, typer.Option(help="Why (new model, policy version, "
                                                       "fact-check import); kept with the run.")],
                   db: DbOpt = None, nats: NatsOpt = None) -> None:
    """Queue every stored item of the tenant for a new decision; prints the run id."""
    from tidebreak.cli_io import open_engine
    from tidebreak.scale.backfill import progress, start_run
    from tidebreak.scale.broker import Producer

    settings, cfg = _broker(nats)
    engine = open_engine(db)
    run_id = start_run(engine, settings.tenant, reason)
    print(run_id)
    _publish(engine, Producer(cfg), run_id)
    p = progress(engine, run_id)
    typer.echo(f"run {run_id}: {p.published} of {p.total} queued; "
               f"`tidebreak backfill status {run_id}` shows the workers' progress", err=True)


@backfill_app.command("resume")
def backfill_resume(run_id: str, db: DbOpt = None, nats: NatsOpt = None) -> None:
    """Continue publishing a run after its last confirmed chunk."""
    from tidebreak.cli_io import open_engine
    from tidebreak.scale.backfill import progress
    from tidebreak.scale.broker import Producer

    _, cfg = _broker(nats)
    engine = open_engine(db)
    try:
        progress(engine, run_id)
    except KeyError as e:
        fail(str(e.args[0]))
    _publish(engine, Producer(cfg), run_id)
    p = progress(engine, run_id)
    typer.echo(f"run {run_id}: {p.published} of {p.total} queued", err=True)


@backfill_app.command("status")
def backfill_status(run_id: Annotated[Optional[str], typer.Argument()] = None,
                    db: DbOpt = None) -> None:
    """One JSON line per run: total, published, decided, failed."""
    from dataclasses import asdict

    from tidebreak.cli_io import open_engine
    from tidebreak.scale.backfill import latest_runs, progress

    engine = open_engine(db)
    ids = [run_id] if run_id else [r.id for r in latest_runs(engine)]
    for rid in ids:
        try:
            print(json.dumps(asdict(progress(engine, rid))))
        except KeyError as e:
            fail(str(e.args[0]))


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
    app.add_typer(backfill_app, name="backfill")
