CREATE TABLE endpoints (
    id                text PRIMARY KEY,
    workspace_id      text        NOT NULL,
    url               text        NOT NULL,
    event_types       text[]      NOT NULL,
    description       text        NOT NULL DEFAULT '',
    enabled           boolean     NOT NULL DEFAULT true,
    -- The signing secret, AES-256-GCM under WEBHOOKS_SECRET_KEY (adapters/secret_box.py).
    secret_ciphertext bytea       NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX endpoints_workspace ON endpoints (workspace_id, id DESC);

CREATE TABLE webhook_events (
    id           text PRIMARY KEY,
    workspace_id text        NOT NULL,
    type         text        NOT NULL,
    payload      jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_events_workspace ON webhook_events (workspace_id, id DESC);

CREATE TABLE deliveries (
    id              text PRIMARY KEY,
    event_id        text        NOT NULL REFERENCES webhook_events (id),
    endpoint_id     text        NOT NULL REFERENCES endpoints (id),
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempt_count   integer     NOT NULL DEFAULT 0,
    -- When the next attempt is due; while an attempt is in flight, the end of its lease.
    next_attempt_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (event_id, endpoint_id)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';

CREATE TABLE attempts (
    id               text PRIMARY KEY,
    delivery_id      text        NOT NULL REFERENCES deliveries (id),
    number           integer     NOT NULL,
    status_code      integer,
    duration_ms      integer     NOT NULL,
    response_excerpt text        NOT NULL DEFAULT '',
    error            text,
    attempted_at     timestamptz NOT NULL,
    UNIQUE (delivery_id, number)
);
