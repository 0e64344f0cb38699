-- Uploads land on their own key and are copied to object_key once verified (see services/files/README.md).
ALTER TABLE files ADD COLUMN upload_key text;
ALTER TABLE files ADD COLUMN upload_expires_at timestamptz;
ALTER TABLE files ADD COLUMN max_pages integer NOT NULL DEFAULT 0;
ALTER TABLE files ADD COLUMN page_count integer;
ALTER TABLE files ADD COLUMN etag text;
ALTER TABLE files ADD COLUMN verified_by text;
ALTER TABLE files ADD COLUMN deleted_at timestamptz;
ALTER TABLE files ADD COLUMN checked_at timestamptz;
-- Files created before this migration were uploaded straight to object_key with a 15-minute URL;
-- their max_pages stays 0 (not recorded), so the plan's current limit applies to them.
UPDATE files SET upload_key = object_key, upload_expires_at = created_at + interval '15 minutes';
ALTER TABLE files ALTER COLUMN upload_key SET NOT NULL;
ALTER TABLE files ALTER COLUMN upload_expires_at SET NOT NULL;
ALTER TABLE files ADD CONSTRAINT files_upload_key UNIQUE (bucket, upload_key);
-- The sweeper's work list: pending files, oldest check first.
CREATE INDEX files_pending ON files (checked_at NULLS FIRST, created_at) WHERE status = 'pending_upload';
