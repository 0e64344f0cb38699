-- Issue #10: the W3C trace context an event was made in (the extraction's trace, or the replay request's),
-- so each attempt's span continues that trace however much later it runs.
ALTER TABLE webhook_events ADD COLUMN traceparent text;
