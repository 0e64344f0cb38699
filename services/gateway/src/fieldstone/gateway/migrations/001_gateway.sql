-- Idempotency records (SYSTEM.md §2), scoped to the service account, kept 24 h.
CREATE TABLE idempotency_keys (
    service_account_id text        NOT NULL,
    key                text        NOT NULL,
    fingerprint        text        NOT NULL,
    status_code        integer,
    response_body      bytea,
    created_at         timestamptz NOT NULL DEFAULT now(),
    completed_at       timestamptz,
    PRIMARY KEY (service_account_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
