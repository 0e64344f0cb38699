"""Shared foundations of every Fieldstone service: settings, ids, errors, logging, tracing."""
