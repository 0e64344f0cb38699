-- The plan of each workspace, learnt from auth's workspace events; absent means the default plan.
CREATE TABLE workspace_plans (
    workspace_id text PRIMARY KEY,
    plan         text        NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- One row per workspace and billing period (YYYY-MM, UTC); Reserve locks it, so concurrent
-- reservations of one workspace are serialised and never pass the limit.
CREATE TABLE period_usage (
    workspace_id text   NOT NULL,
    period_key   text   NOT NULL,
    used         bigint NOT NULL DEFAULT 0 CHECK (used >= 0),
    reserved     bigint NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    PRIMARY KEY (workspace_id, period_key)
);

-- One unit held per extraction (reservation_id = the extraction id), counted in the period it was taken in.
CREATE TABLE reservations (
    reservation_id text PRIMARY KEY,
    workspace_id   text        NOT NULL,
    period_key     text        NOT NULL,
    status         text        NOT NULL CHECK (status IN ('reserved', 'consumed', 'released')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    settled_at     timestamptz,
    FOREIGN KEY (workspace_id, period_key) REFERENCES period_usage (workspace_id, period_key)
);
CREATE INDEX reservations_open ON reservations (workspace_id, period_key) WHERE status = 'reserved';
