"""The composition of a service process: pool, workers, HTTP app and CLI, built the same way
for every service so that each service's app.py only names its own parts."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any

import asyncpg
import typer
import uvicorn
from fastapi import APIRouter, Depends, FastAPI
from prometheus_client import CollectorRegistry

from mpe_events import registry as event_registry
from mpe_events import topics
from mpe_kit import (
    apidocs,
    bodylimit,
    db,
    event_cli,
    http,
    inflight,
    migrations,
    openapi,
    ops,
    parameters,
    telemetry,
    transient,
)
from mpe_kit.auth import ROLES, SECRET_ROLES_BESIDE_A_PROVIDER, TokenVerifier, issue_token
from mpe_kit.consumer import BatchHandler, BatchHook, BeginHook, CaughtUpHook, ConsumerRunner, Handler
from mpe_kit.kafka_probe import KafkaProbe
from mpe_kit.logging import configure_logging, get_logger
from mpe_kit.relay import Relay
from mpe_kit.settings import ServiceSettings
from mpe_kit.status import RuntimeStatus
from mpe_kit.writes import WriteTokenHeader

log = get_logger("mpe.service")

Worker = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


@dataclass
class Runtime:
    """What a running process holds: its settings, pool, worker status and metrics registry."""

    settings: ServiceSettings
    pool: db.Pool
    status: RuntimeStatus = field(default_factory=RuntimeStatus)
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)


@dataclass(frozen=True, kw_only=True)
class ServiceSpec:
    """One service's parts, named by its app.py."""

    name: str
    title: str
    migrations: Callable[[], list[migrations.Migration]]
    routers: Callable[[], Sequence[APIRouter]]
    workers: Callable[[Runtime], list[Worker]] = lambda _rt: []
    has_outbox: bool = True
    staff_auth: bool = True
    readyz_extra: Callable[[Runtime], Callable[[], Awaitable[dict[str, Any]]]] | None = None
    on_start: Callable[[Runtime, FastAPI], Awaitable[None]] | None = None
    on_stop: Callable[[Runtime, FastAPI], Awaitable[None]] | None = None
    fastapi_kwargs: Callable[[ServiceSettings], dict[str, Any]] = lambda _s: {}
    # False keeps /metrics off the API port (the gateway's faces partners): the ops port has it.
    metrics_on_api_port: bool = True
    # False where the service writes its own access log (the gateway's, per GraphQL operation).
    access_log: bool = True
    # False where the service caps its requests in flight itself (the gateway's /graphql).
    in_flight_cap: bool = True
    # The consumer groups its workers run: `consumer reset` refuses any other (their inbox rows
    # live in another service's database, so a reset from here would re-apply nothing).
    consumer_groups: Callable[[ServiceSettings], list[str]] = lambda _s: []


@contextlib.asynccontextmanager
async def running(workers: list[Worker], *, grace_s: float = 15) -> AsyncIterator[asyncio.Event]:
    """Run workers as tasks; on exit ask them to stop, wait `grace_s`, then cancel."""
    stop = asyncio.Event()
    tasks = [asyncio.create_task(w(stop)) for w in workers]
    try:
        yield stop
    finally:
        stop.set()
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=grace_s)
            for t in late:
                t.cancel()
            await asyncio.gather(*late, return_exceptions=True)


def create_app(spec: ServiceSpec, settings: ServiceSettings, *, with_workers: bool = True) -> FastAPI:
    """The service's FastAPI app; its lifespan owns the pool and (optionally) the workers."""
    registry = CollectorRegistry()
    all_migrations = spec.migrations()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await db.create_pool(
            settings.database_dsn(),
            min_size=settings.db_pool_min,
            max_size=settings.db_pool_max,
            statement_cache_size=settings.db_statement_cache_size,
            server_settings=settings.db_server_settings(),
        )
        runtime = Runtime(settings=settings, pool=pool, status=status, registry=registry)
        app.state.pool = pool
        app.state.runtime = runtime
        try:
            if spec.on_start is not None:
                await spec.on_start(runtime, app)
            try:
                async with running(_workers(spec, runtime) if with_workers else []):
                    yield
            finally:
                # After the workers have stopped, before the pool closes.
                if spec.on_stop is not None:
                    await spec.on_stop(runtime, app)
        finally:
            await pool.close()

    # FastAPI's own /docs and /redoc load their scripts from a CDN; apidocs serves them itself.
    kwargs = {"docs_url": "/docs", "redoc_url": "/redoc", **spec.fastapi_kwargs(settings)}
    docs_url, redoc_url = kwargs.pop("docs_url"), kwargs.pop("redoc_url")
    app = FastAPI(title=spec.title, lifespan=lifespan, docs_url=None, redoc_url=None, **kwargs)
    apidocs.install(app, docs_url=docs_url, redoc_url=redoc_url)
    status = RuntimeStatus()
    app.state.settings = settings
    app.state.status = status
    app.state.event_source = event_registry.source(spec.name)
    if spec.staff_auth:
        app.state.token_verifier = TokenVerifier(
            secret=settings.jwt_secret.get_secret_value() if settings.jwt_secret else None,
            jwks_url=settings.jwt_jwks_url,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
        )
    openapi.install(app)
    transient.install(app)
    bodylimit.install(app, settings)
    if spec.in_flight_cap:
        # Inside the request metrics and the access log, which count its 503s like any answer.
        inflight.install(app, cap=settings.max_in_flight, service=spec.name, registry=registry)
    http.install(app, registry=registry, access_log=spec.access_log)
    telemetry.instrument_app(app)
    if spec.has_outbox:
        app.add_middleware(WriteTokenHeader)

    def readyz_extra() -> Callable[[], Awaitable[dict[str, Any]]] | None:
        if spec.readyz_extra is None or not hasattr(app.state, "runtime"):
            return None
        return spec.readyz_extra(app.state.runtime)

    async def extra() -> dict[str, Any]:
        fn = readyz_extra()
        return await fn() if fn is not None else {}

    # The service's own routes first: a request is matched against routes in order.
    # A staff service's routes refuse query parameters they do not take (mpe_kit.parameters).
    checks = [Depends(parameters.refuse_unknown_query)] if spec.staff_auth else []
    for router in spec.routers():
        app.include_router(router, dependencies=checks)
    health = http.health_router(
        pool_of=lambda: app.state.pool,
        all_migrations=all_migrations,
        status=status,
        registry=registry,
        has_outbox=spec.has_outbox,
        extra=extra,
    )
    routes = health.routes if spec.metrics_on_api_port else ops.without_metrics(health.routes)
    app.include_router(APIRouter(routes=routes))
    app.state.ops_app = ops.ops_app(health.routes)
    ops.install_collectors(registry, lambda: app.state.pool, status)
    return app


async def run_workers(spec: ServiceSpec, settings: ServiceSettings, pick: Callable[[Worker], bool]) -> None:
    """Run some of a service's workers without HTTP until SIGINT or SIGTERM."""
    pool = await db.create_pool(
        settings.database_dsn(),
        min_size=1,
        max_size=settings.db_pool_max,
        statement_cache_size=settings.db_statement_cache_size,
        server_settings=settings.db_server_settings(),
    )
    runtime = Runtime(settings=settings, pool=pool)
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, done.set)
    health = http.health_router(
        pool_of=lambda: pool,
        all_migrations=spec.migrations(),
        status=runtime.status,
        registry=runtime.registry,
        has_outbox=spec.has_outbox,
    )
    ops.install_collectors(runtime.registry, lambda: pool, runtime.status)
    listener = None
    if settings.ops_port is not None:
        listener = ops.ops_server(ops.ops_app(health.routes), host=settings.ops_host, port=settings.ops_port)
    try:
        async with ops.serving(listener), running([w for w in _workers(spec, runtime) if pick(w)]):
            await done.wait()
    finally:
        await pool.close()


def _workers(spec: ServiceSpec, rt: Runtime) -> list[Worker]:
    probe = KafkaProbe(
        bootstrap=rt.settings.kafka_client(),
        status=rt.status.kafka,
        interval_s=rt.settings.kafka_probe_interval_s,
    )
    wanted = spec.migrations()
    return [*(after_migrations(w, rt, wanted) for w in spec.workers(rt)), probe.run]


MIGRATIONS_POLL_S = 2.0


def after_migrations(worker: Worker, rt: Runtime, wanted: list[migrations.Migration]) -> Worker:
    """The worker, started once the database holds every migration this code expects.

    A new release's pods start beside its migrations Job: a consumer that ran before the Job had
    made its tables (or granted them to the runtime role) would fail each event and dead-letter
    it, and a relay would read an outbox without its new columns. Readiness keeps traffic off the
    API meanwhile; this keeps the workers off the database.
    """

    async def run(stop: asyncio.Event) -> None:
        waiting = False
        while not stop.is_set():
            try:
                async with rt.pool.acquire() as conn:
                    todo = len(await migrations.pending(conn, wanted))
            except (migrations.MigrationError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                # No schema_migrations yet, the database away, an edited file: wait all the same.
                todo, reason = -1, repr(exc)
            else:
                reason = ""
            if todo == 0:
                if waiting:
                    log.info("migrations applied; workers start")
                await worker(stop)
                return
            if not waiting:
                log.warning(
                    "workers wait for the migrations", pending=todo if todo >= 0 else None, error=reason
                )
                waiting = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), MIGRATIONS_POLL_S)

    return run


def event_loop() -> asyncio.Runner:
    """The runner of a serving process: on uvloop where it is installed, as `uvicorn.run` chooses.

    uvicorn[standard] brings uvloop; plain `asyncio.run` would serve on asyncio's own selector
    loop, whose sockets and callbacks run in Python (docs/measurements.md: the gateway's cold
    requests, before and after).

    What the process built so far (its modules, the app) lives as long as the process: it is
    frozen out of the garbage collector's generations, so that a full collection, which an
    allocation-heavy batch of events triggers every few thousand events, does not walk it
    again each time (docs/measurements.md, "Where the projector's time went, and what changed").
    """
    gc.freeze()
    try:
        import uvloop
    except ImportError:
        return asyncio.Runner()
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


def build_cli(spec: ServiceSpec, settings_factory: Callable[[], ServiceSettings]) -> typer.Typer:
    """The service's command line: migrate, serve, api, worker, token."""
    cli = typer.Typer(name=spec.name, help=f"The mpehub {spec.name} service.", no_args_is_help=True)

    def settings() -> ServiceSettings:
        s = settings_factory()
        configure_logging(level=s.log_level, json=s.log_json)
        telemetry.configure(spec.name)
        return s

    @cli.command()
    def migrate() -> None:
        """Apply pending database migrations."""
        s = settings()
        try:
            applied = asyncio.run(
                migrations.migrate(s.database_dsn(), spec.migrations(), runtime_role=s.database_runtime_role)
            )
        except migrations.MigrationError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            # One transaction a file: what failed left nothing behind; what came before stays applied.
            typer.echo(f"error: cannot migrate {spec.name}'s database: {exc!r}", err=True)
            raise typer.Exit(1) from exc
        typer.echo(f"{spec.name}: {len(applied)} migration(s) applied")

    def _serve(with_workers: bool) -> None:
        s = settings()
        app = create_app(spec, s, with_workers=with_workers)
        config = uvicorn.Config(
            app,
            host=s.host,
            port=s.port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=10,
            **bodylimit.server_options(s),
        )
        listener = None
        if s.ops_port is not None:
            listener = ops.ops_server(app.state.ops_app, host=s.ops_host, port=s.ops_port)

        async def both() -> None:
            async with ops.serving(listener):
                await uvicorn.Server(config).serve()

        with event_loop() as runner:
            runner.run(both())

    @cli.command()
    def serve() -> None:
        """Run the API and the background workers (relay, consumers) in one process."""
        _serve(True)

    @cli.command()
    def api() -> None:
        """Run the API only; run the workers elsewhere with `worker`."""
        _serve(False)

    @cli.command()
    def worker() -> None:
        """Run the background workers (relay, consumers) only, without HTTP."""
        with event_loop() as runner:
            runner.run(run_workers(spec, settings(), lambda _w: True))

    @cli.command()
    def token(
        sub: Annotated[str, typer.Option(help="Who the token is for (a person or a service).")],
        role: Annotated[list[str] | None, typer.Option(help=f"{' or '.join(ROLES)}; repeatable.")] = None,
        ttl: Annotated[int, typer.Option(help="Lifetime in seconds.", min=1)] = 3600,
    ) -> None:
        """Issue a staff token signed with the configured HS256 secret."""
        unknown = sorted(set(role or []) - set(ROLES))
        if unknown:
            raise typer.BadParameter(
                f"{', '.join(unknown)}: the roles are {', '.join(ROLES)}", param_hint="--role"
            )
        s = settings_factory()
        if s.jwt_secret is None or not s.jwt_secret.get_secret_value():
            prefix = type(s).model_config.get("env_prefix", "")
            raise typer.BadParameter(f"set {prefix}JWT_SECRET first: the token is signed with it")
        if s.jwt_jwks_url and set(role or []) - SECRET_ROLES_BESIDE_A_PROVIDER:
            raise typer.BadParameter(
                "with a JWKS URL set, staff tokens come from the identity provider; this command "
                "issues read-through tokens only (--role viewer)",
                param_hint="--role",
            )
        token = issue_token(
            s.jwt_secret.get_secret_value(),
            sub=sub,
            roles=role or ["viewer"],
            ttl_s=ttl,
            audience=s.jwt_audience,
            issuer=s.jwt_issuer,
        )
        typer.echo(token)

    cli.add_typer(event_cli.dlq_cli(settings_factory), name="dlq")
    cli.add_typer(
        event_cli.consumer_cli(settings_factory, lambda: spec.consumer_groups(settings_factory())),
        name="consumer",
    )
    return cli


def outbox_relay(rt: Runtime, *, service: str) -> Relay:
    """The relay of a service's outbox to the topics it owns, configured from its settings."""
    s = rt.settings
    return Relay(
        service=service,
        dsn=s.database_dsn(),
        bootstrap=s.kafka_client(),
        topics=topics.owned_by(service),
        status=rt.status,
        registry=rt.registry,
        topic_prefix=s.topic_prefix,
        replication=s.topic_replication,
        batch_size=s.relay_batch_size,
        poll_interval_s=s.relay_poll_interval_s,
    )


def event_consumer(
    rt: Runtime,
    *,
    group: str,
    handlers: Mapping[str, Handler],
    batch_handler: BatchHandler | None = None,
    on_batch: BatchHook | None = None,
    on_begin: BeginHook | None = None,
    on_caught_up: CaughtUpHook | None = None,
) -> ConsumerRunner:
    """A consumer group applying events with these handlers, configured from the settings."""
    s = rt.settings
    return ConsumerRunner(
        name=group,
        pool=rt.pool,
        bootstrap=s.kafka_client(),
        handlers=handlers,
        batch_handler=batch_handler,
        status=rt.status,
        registry=rt.registry,
        on_batch=on_batch,
        on_begin=on_begin,
        on_caught_up=on_caught_up,
        topic_prefix=s.topic_prefix,
        replication=s.topic_replication,
        max_retries=s.consumer_max_retries,
        inbox_retention=timedelta(days=s.inbox_retention_days),
    )
