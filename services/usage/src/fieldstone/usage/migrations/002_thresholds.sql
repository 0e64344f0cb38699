-- Each usage threshold is announced once per workspace, period, percent and limit: a plan
-- change gives the new limit its own 80 % and 100 %, a replayed event none.
CREATE TABLE usage_thresholds (
    workspace_id text        NOT NULL,
    period_key   text        NOT NULL,
    percent      smallint    NOT NULL,
    plan_limit   bigint      NOT NULL,
    reached_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, period_key, percent, plan_limit)
);
