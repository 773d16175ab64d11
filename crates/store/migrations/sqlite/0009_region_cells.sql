-- PostgreSQL's 0009 adds cells for small spatial region lists; SQLite's R*Tree serves them (see
-- src/sql/regions.rs). Kept so both backends number their migrations alike.
SELECT 1;
