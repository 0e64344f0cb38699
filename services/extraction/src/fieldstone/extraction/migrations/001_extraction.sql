CREATE TABLE extractions (
    id                 text PRIMARY KEY,
    workspace_id       text        NOT NULL,
    file_id            text        NOT NULL,
    file_name          text,
    template_id        text,
    template_name      text,
    status             text        NOT NULL,
    variables          jsonb       NOT NULL,
    pages              text,
    metadata           jsonb,
    extracted_data     jsonb,
    fields             jsonb       NOT NULL DEFAULT '[]',
    error              text,
    error_code         text,
    page_count         integer,
    processing_time_ms bigint,
    waiting_for_file   boolean     NOT NULL DEFAULT false,
    bucket             text,
    object_key         text,
    attempts           integer     NOT NULL DEFAULT 0,
    run_id             text,
    created_by         text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    started_at         timestamptz,
    completed_at       timestamptz
);
CREATE INDEX extractions_workspace ON extractions (workspace_id, id DESC);
CREATE INDEX extractions_waiting ON extractions (file_id) WHERE waiting_for_file;
