-- Fixed one-minute windows per caller, shared by every gateway replica.
CREATE TABLE rate_limit_windows (
    bucket       text        NOT NULL,
    window_start timestamptz NOT NULL,
    count        integer     NOT NULL,
    PRIMARY KEY (bucket, window_start)
);

-- An in-flight idempotent request holds its key until this time; a crashed gateway's
-- claim expires instead of blocking the key for 24 h.
ALTER TABLE idempotency_keys ADD COLUMN locked_until timestamptz;
ALTER TABLE idempotency_keys ADD COLUMN response_headers jsonb;
