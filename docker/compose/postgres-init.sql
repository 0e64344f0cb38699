-- One database per service (SYSTEM.md §1); each service migrates its own schema at start.
CREATE DATABASE fieldstone_gateway;
CREATE DATABASE fieldstone_auth;
CREATE DATABASE fieldstone_files;
CREATE DATABASE fieldstone_extraction;
CREATE DATABASE fieldstone_webhooks;
CREATE DATABASE fieldstone_usage;
