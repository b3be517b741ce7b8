"""The gateway's settings, from GATEWAY_* environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from mpe_kit.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    """Settings of the GraphQL gateway; each field is read from `GATEWAY_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", use_attribute_docstrings=True)

    port: int = 8000
    """Port of the HTTP server (`GATEWAY_PORT`)."""

    database_url: SecretStr = SecretStr("postgresql://postgres@127.0.0.1:54329/gateway")
    """The read model's database (`GATEWAY_DATABASE_URL`); the `keys` commands use it too."""

    portal_dir: Path | None = None
    """The built explorer and docs (`GATEWAY_PORTAL_DIR`): `make docs` builds them into
    `services/gateway/portal/dist`, which `make dev` passes; the image sets its own."""

    graphiql: bool = False
    """Serve the partner explorer, GraphiQL built into the gateway, at `/explorer/` (`GATEWAY_GRAPHIQL`).

    It loads nothing from outside the gateway, so it may be on in production; introspection is
    then answered too, and, like every request, only to a valid key. A browser opening
    `/graphql` is sent to it.
    """

    introspection: bool = False
    """Answer introspection (`__schema`, `__type`) to key holders (`GATEWAY_INTROSPECTION`).

    Off by default: partners get the SDL from the documentation at `/docs/` instead. The explorer
    (`GATEWAY_GRAPHIQL`) turns it on. `__typename` is always answered.
    """

    projector_group: str = "gateway-projector"
    """Kafka consumer group of the projector that fills the read model (`GATEWAY_PROJECTOR_GROUP`)."""

    max_page_size: int = Field(default=100, ge=1)
    """Largest `first` any list accepts (`GATEWAY_MAX_PAGE_SIZE`); more is an error, never clamped."""

    db_random_page_cost: float = Field(default=1.1, gt=0)
    """What Postgres's planner reckons one page read out of order costs, set on every connection
    of the gateway (`GATEWAY_DB_RANDOM_PAGE_COST`); Postgres's own default is 4.

    The read model is read from memory, where a page fetched through an index costs about what a
    page of a sequential scan does. With the server's 4 the planner preferred to scan small
    tables whole for each row of a page: on the demo, query 1 filtered all 131 designation links
    once per technology, 1.7 ms of Postgres where the index takes 1.1 (docs/measurements.md).
    """

    changes_poll_s: float = Field(default=5.0, gt=0)
    """Seconds between the change hub's reads of the change log's watermark (`GATEWAY_CHANGES_POLL_S`).

    The hub learns of new changes by LISTEN at once; this read checks its connection and catches
    a notification that went missing.
    """

    key_cache_ttl_s: float = Field(default=1.0, ge=0, le=1)
    """Seconds a key lookup is cached in each instance (`GATEWAY_KEY_CACHE_TTL_S`), 0 to 1.

    It bounds how long a revoked or rotated-out key keeps working on an instance that had just
    seen it, hence at most one second; 0 looks every request's key up in the database.
    """

    rate_limit_per_s: float = Field(default=25.0, ge=0)
    """Requests per second each key may sustain (`GATEWAY_RATE_LIMIT_PER_S`); 0 turns the limit off.

    A token bucket per key and per instance: with N instances behind a balancer a key may
    reach up to N times this rate. Past it the gateway answers 429 with `Retry-After`.
    """

    rate_limit_burst: int = Field(default=50, ge=1)
    """Requests a key may make at once after being idle (`GATEWAY_RATE_LIMIT_BURST`): the bucket's size."""

    max_query_depth: int = Field(default=10, ge=1)
    """Deepest nesting of fields in an operation (`GATEWAY_MAX_QUERY_DEPTH`); `{ a { b } }` is 2.

    Fragments count where they are spread; introspection fields (`__…`) do not count.
    """

    max_aliases: int = Field(default=20, ge=0)
    """Most aliased fields in an operation (`GATEWAY_MAX_ALIASES`), counted in every fragment spread."""

    max_tokens: int = Field(default=2000, ge=1)
    """Most tokens in a document, comments included (`GATEWAY_MAX_TOKENS`).

    The parser stops as soon as the document passes it, before building anything.
    """

    max_query_cost: int = Field(default=25_000, ge=1)
    """Highest cost of an operation (`GATEWAY_MAX_QUERY_COST`): about the most objects it may return.

    A field of object type costs 1 for each object its parent stands for; one that takes `first`
    (a connection, a nested list) costs `first` (its default when omitted) times that, and what
    it selects is multiplied alike, so nested pages multiply. A list without `first` costs the
    most objects it declares (`gateway.read.describe.most`: 12 industries, 200 changes of a
    revision, the product of `spending`'s dimensions; a connection's edges count once, as its `first` counts the
    page), or a full page if it declares none. A page of 50 technologies with their industry, funding
    and 20 designations each with its firm costs 2,250. At some 9 µs per resolved object, the
    default bounds a query near a quarter of a second of work.
    """

    max_operations_per_socket: int = Field(default=20, ge=1)
    """Most operations (subscriptions, mostly) one WebSocket runs at once
    (`GATEWAY_MAX_OPERATIONS_PER_SOCKET`); past it a subscribe is refused with an error."""

    export_stall_timeout_s: float = Field(default=30.0, gt=0)
    """Seconds an export waits for a client that reads nothing (`GATEWAY_EXPORT_STALL_TIMEOUT_S`)
    before it breaks the transfer off, ending its transaction and freeing its slot."""

    exports_per_key: int = Field(default=2, ge=1)
    """Most exports one key runs at once on an instance (`GATEWAY_EXPORTS_PER_KEY`): one agency
    cannot hold every slot."""

    max_in_flight: int = Field(default=128, ge=0)
    """Most GraphQL requests over HTTP one instance works on at once (`GATEWAY_MAX_IN_FLIGHT`); 0: no cap.

    Past it the answer is 503 problem+json with `Retry-After: 1`, at once and before the body is
    read. An overloaded instance sheds what it cannot answer soon instead of queueing it: a queue
    grows the memory (Python keeps what a burst took) and answers late, after clients gave up.
    The cap counts every key's requests and is checked before the key and its rate. A request
    waiting for its writes (`MPE-Wait-For`) is not counted while it waits.
    """

    document_cache_size: int = Field(default=1000, ge=0)
    """Parsed and validated documents kept per instance (`GATEWAY_DOCUMENT_CACHE_SIZE`); 0 keeps none."""

    persisted_query_cache_size: int = Field(default=10_000, ge=0)
    """Automatic persisted queries remembered per instance, by SHA-256 (`GATEWAY_PERSISTED_QUERY_CACHE_SIZE`).

    The least recently used are forgotten first; a client whose hash was forgotten is asked
    for the text again, as the APQ protocol has it.
    """

    response_cache_size: int = Field(default=2000, ge=0)
    """Whole answers cached per instance (`GATEWAY_RESPONSE_CACHE_SIZE`); 0 turns the cache off.

    Keyed by document, operation, variables, the key's scopes and the projection watermark:
    every projected change moves the watermark and empties the cache.
    """

    response_cache_max_entry_bytes: int = Field(default=1_000_000, ge=0)
    """Largest answer the response cache keeps (`GATEWAY_RESPONSE_CACHE_MAX_ENTRY_BYTES`)."""

    read_your_writes_timeout_s: float = Field(default=5.0, gt=0, le=30)
    """Longest a request with `MPE-Wait-For` waits for its writes (`GATEWAY_READ_YOUR_WRITES_TIMEOUT_S`)."""

    db_statement_timeout_s: float = Field(default=10.0, ge=0, le=3600)
    """Longest any one statement of this process may run in Postgres (`GATEWAY_DB_STATEMENT_TIMEOUT_S`); 0 for none.

    Sent as `statement_timeout` when each connection opens. A read that passed the cost limit
    but still runs long (a lock held by a migration, an overloaded database) is stopped there
    and answered `QUERY_TIMEOUT`, instead of holding its connection for as long as it takes.
    The projector's batches are exempt: each sets `statement_timeout` to 0 for its transaction,
    since a batch stopped half-way could only be retried, never answered.
    """

    compiled_queries: bool = True
    """Answer the operations it covers with one SQL statement that builds the JSON (`GATEWAY_COMPILED_QUERIES`).

    Off, strawberry resolves every field; the answers are the same (tests compare them).
    """

    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    """Largest request body, in bytes (`GATEWAY_MAX_BODY_BYTES`); past it the answer is 413, counted while reading.

    A GraphQL document within the token limit fits many times over; a larger one is refused
    before it is parsed, so that it cannot hold the event loop.
    """

    http_parser: Literal["h11", "httptools"] = "httptools"
    """uvicorn's HTTP parser (`GATEWAY_HTTP_PARSER`): httptools for throughput.

    It refuses a request head over 64 KiB with a plain-text 400 before the app sees it; URLs
    from `GATEWAY_MAX_URL_BYTES` (8 KiB) up to that get the gateway's 414 problem+json.
    """

    def db_server_settings(self) -> dict[str, str]:
        """The planner's page cost and the statement timeout, on each connection."""
        settings = {"random_page_cost": str(self.db_random_page_cost)}
        if self.db_statement_timeout_s > 0:
            settings["statement_timeout"] = str(max(1, round(self.db_statement_timeout_s * 1000)))
        return settings

    @property
    def answers_introspection(self) -> bool:
        """Whether introspection is answered: asked for, or needed by the explorer."""
        return self.introspection or self.graphiql
