//! End-to-end tests of Huifang. The suites live in `tests/`: `api` starts the real server on a
//! random port and drives it over HTTP, once on SQLite and once on PostgreSQL.
