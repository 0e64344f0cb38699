-- Issue #7: endpoint lifecycle (update, disable, delete, secret rotation), and one event per endpoint that
-- carries its own delivery schedule, replaces the event + deliveries pair. Rows of 001 are carried over.

ALTER TABLE endpoints
    ADD COLUMN updated_at                 timestamptz NOT NULL DEFAULT now(),
    -- 'manual', 'gone' (410) or 'failing' (every attempt failed for the configured time); NULL while enabled.
    ADD COLUMN disabled_reason            text,
    ADD COLUMN disabled_at                timestamptz,
    ADD COLUMN deleted_at                 timestamptz,
    -- The first failed attempt since the last successful one.
    ADD COLUMN failing_since              timestamptz,
    ADD COLUMN secret_rotated_at          timestamptz,
    -- After a rotation the previous secret keeps signing until previous_secret_expires_at.
    ADD COLUMN previous_secret_ciphertext bytea,
    ADD COLUMN previous_secret_expires_at timestamptz;
-- A deleted endpoint keeps its row (its events stay in the log) but not its secrets.
ALTER TABLE endpoints ALTER COLUMN secret_ciphertext DROP NOT NULL;
DROP INDEX endpoints_workspace;
CREATE INDEX endpoints_workspace ON endpoints (workspace_id, id DESC) WHERE deleted_at IS NULL;

ALTER TABLE attempts RENAME TO attempts_v0;
ALTER TABLE deliveries RENAME TO deliveries_v0;
ALTER TABLE webhook_events RENAME TO webhook_events_v0;
ALTER INDEX webhook_events_workspace RENAME TO webhook_events_v0_workspace;
ALTER INDEX deliveries_due RENAME TO deliveries_v0_due;

CREATE TABLE webhook_events (
    -- The webhook-id of every attempt, stable across retries and replays.
    id              text PRIMARY KEY,
    workspace_id    text        NOT NULL,
    endpoint_id     text        NOT NULL REFERENCES endpoints (id),
    type            text        NOT NULL,
    payload         jsonb       NOT NULL,
    -- The CloudEvent it was made from.
    source_event_id text        NOT NULL DEFAULT '',
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    -- Attempts started so far (the number of the latest one).
    attempt_count   integer     NOT NULL DEFAULT 0,
    -- Replays so far, and attempt_count when the current round (the original or a replay) began:
    -- the retry schedule restarts with each round.
    round           integer     NOT NULL DEFAULT 0,
    round_start     integer     NOT NULL DEFAULT 0,
    -- When the next attempt is due (NULL once delivered or failed).
    next_attempt_at timestamptz,
    -- Set while an attempt is in flight: until then no other dispatcher takes the event.
    leased_until    timestamptz,
    last_attempt_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_events_due ON webhook_events (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_events_leased ON webhook_events (endpoint_id) WHERE leased_until IS NOT NULL;
CREATE INDEX webhook_events_workspace ON webhook_events (workspace_id, id DESC);
CREATE INDEX webhook_events_endpoint ON webhook_events (endpoint_id, id DESC);
CREATE INDEX webhook_events_endpoint_pending ON webhook_events (endpoint_id) WHERE status = 'pending';

CREATE TABLE attempts (
    event_id      text        NOT NULL REFERENCES webhook_events (id),
    number        integer     NOT NULL,
    trigger       text        NOT NULL CHECK (trigger IN ('initial', 'retry', 'replay')),
    outcome       text        NOT NULL DEFAULT 'in_flight' CHECK (outcome IN ('in_flight', 'succeeded', 'failed')),
    status_code   integer,
    duration_ms   integer,
    -- The start of the answer, at most 20 KiB.
    response_body text        NOT NULL DEFAULT '',
    error         text,
    attempted_at  timestamptz NOT NULL,
    PRIMARY KEY (event_id, number)
);

-- Carry 001's rows over: each delivery becomes an event. The first delivery of an event keeps the event's
-- id (receivers may have seen it); others get a new id with the same time prefix.
INSERT INTO webhook_events (id, workspace_id, endpoint_id, type, payload, status, attempt_count, round_start,
                            next_attempt_at, last_attempt_at, created_at, updated_at)
SELECT CASE WHEN row_number() OVER (PARTITION BY d.event_id ORDER BY d.id) = 1 THEN e.id
            ELSE 'evt_' || substr(e.id, 5, 10) || upper(substr(md5(d.id), 1, 16)) END,
       e.workspace_id, d.endpoint_id, e.type, e.payload, d.status, d.attempt_count, 0,
       CASE WHEN d.status = 'pending' THEN d.next_attempt_at END,
       (SELECT max(a.attempted_at) FROM attempts_v0 a WHERE a.delivery_id = d.id),
       e.created_at, d.updated_at
FROM deliveries_v0 d JOIN webhook_events_v0 e ON e.id = d.event_id;

INSERT INTO attempts (event_id, number, trigger, outcome, status_code, duration_ms, response_body, error,
                      attempted_at)
SELECT w.id, a.number, CASE WHEN a.number = 1 THEN 'initial' ELSE 'retry' END,
       CASE WHEN a.status_code BETWEEN 200 AND 299 THEN 'succeeded' ELSE 'failed' END,
       a.status_code, a.duration_ms, a.response_excerpt, a.error, a.attempted_at
FROM attempts_v0 a
JOIN deliveries_v0 d ON d.id = a.delivery_id
JOIN webhook_events w ON w.endpoint_id = d.endpoint_id AND substr(w.id, 5, 10) = substr(d.event_id, 5, 10)
     AND (w.id = d.event_id OR w.id = 'evt_' || substr(d.event_id, 5, 10) || upper(substr(md5(d.id), 1, 16)));

DROP TABLE attempts_v0;
DROP TABLE deliveries_v0;
DROP TABLE webhook_events_v0;
