-- Transactional outbox: events are written here in the same transaction as the state
-- change that causes them; the relay publishes them to Kafka in `seq` order.
CREATE TABLE IF NOT EXISTS outbox (
    seq         bigserial PRIMARY KEY,
    topic       text        NOT NULL,
    key         text        NOT NULL,
    ce_id       text        NOT NULL UNIQUE,
    ce_type     text        NOT NULL,
    ce_source   text        NOT NULL,
    ce_subject  text        NOT NULL,
    ce_time     timestamptz NOT NULL,
    traceparent text,
    payload     bytea       NOT NULL,
    sent_at     timestamptz
);
CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox (seq) WHERE sent_at IS NULL;

-- Idempotent consumers: an event id is claimed in the same transaction as its effect.
CREATE TABLE IF NOT EXISTS inbox (
    consumer     text        NOT NULL,
    event_id     text        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
