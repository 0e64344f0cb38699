-- The service account that created an endpoint (the public API's `userId`).
ALTER TABLE endpoints ADD COLUMN created_by text NOT NULL DEFAULT '';
