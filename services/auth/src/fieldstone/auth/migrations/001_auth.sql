CREATE TABLE workspaces (
    id         text PRIMARY KEY,
    name       text        NOT NULL,
    plan       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE service_accounts (
    id           text PRIMARY KEY,
    workspace_id text        NOT NULL REFERENCES workspaces (id),
    name         text        NOT NULL,
    deleted_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX service_accounts_workspace ON service_accounts (workspace_id, id DESC);

CREATE TABLE api_keys (
    id                 text PRIMARY KEY,
    workspace_id       text        NOT NULL REFERENCES workspaces (id),
    service_account_id text        NOT NULL REFERENCES service_accounts (id),
    name               text        NOT NULL,
    prefix             text        NOT NULL,
    key_hash           text        NOT NULL UNIQUE,
    scopes             text[]      NOT NULL,
    expires_at         timestamptz,
    last_used_at       timestamptz,
    revoked_at         timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_workspace ON api_keys (workspace_id, id DESC);
