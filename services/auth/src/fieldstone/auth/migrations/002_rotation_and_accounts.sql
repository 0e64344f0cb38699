ALTER TABLE service_accounts ADD COLUMN description text NOT NULL DEFAULT '';
ALTER TABLE service_accounts ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE api_keys ADD COLUMN rotated_from text REFERENCES api_keys (id);
