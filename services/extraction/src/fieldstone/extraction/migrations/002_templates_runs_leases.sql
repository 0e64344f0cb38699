-- Templates (versioned), batch runs, and the worker lease of a running extraction.
CREATE TABLE templates (
    id           text PRIMARY KEY,
    workspace_id text        NOT NULL,
    name         text        NOT NULL,
    description  text        NOT NULL DEFAULT '',
    variables    jsonb       NOT NULL,
    version      integer     NOT NULL,
    created_by   text,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    deleted_at   timestamptz
);
CREATE INDEX templates_workspace ON templates (workspace_id, id DESC) WHERE deleted_at IS NULL;

-- Every version ever saved, so an extraction's pinned version stays readable.
CREATE TABLE template_versions (
    template_id text        NOT NULL REFERENCES templates (id),
    version     integer     NOT NULL,
    name        text        NOT NULL,
    description text        NOT NULL,
    variables   jsonb       NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (template_id, version)
);

CREATE TABLE runs (
    id               text PRIMARY KEY,
    workspace_id     text        NOT NULL,
    template_id      text,
    template_version integer,
    template_name    text,
    variables        jsonb       NOT NULL,
    total            integer     NOT NULL,
    status           text        NOT NULL,
    metadata         jsonb,
    created_by       text,
    created_at       timestamptz NOT NULL,
    completed_at     timestamptz
);

ALTER TABLE extractions
    ADD COLUMN template_version integer,
    ADD COLUMN max_pages        integer,
    ADD COLUMN lease_owner      text,
    ADD COLUMN lease_expires_at timestamptz;
CREATE INDEX extractions_run ON extractions (run_id, status) WHERE run_id IS NOT NULL;
CREATE INDEX extractions_workspace_status ON extractions (workspace_id, status, id DESC);
CREATE INDEX extractions_workspace_template ON extractions (workspace_id, template_id, id DESC)
    WHERE template_id IS NOT NULL;
