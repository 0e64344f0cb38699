CREATE TABLE files (
    id                text PRIMARY KEY,
    workspace_id      text        NOT NULL,
    filename          text        NOT NULL,
    content_type      text        NOT NULL,
    size_bytes        bigint      NOT NULL,
    status            text        NOT NULL,
    rejection_reason  text,
    rejection_message text,
    bucket            text        NOT NULL,
    object_key        text        NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    uploaded_at       timestamptz,
    UNIQUE (bucket, object_key)
);
CREATE INDEX files_workspace ON files (workspace_id, id DESC);
