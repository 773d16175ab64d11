-- PostgreSQL's 0007 adds latitude bands for spatial region lists; SQLite's R*Tree already serves
-- them (see src/sql/regions.rs). Kept so both backends number their migrations alike.
SELECT 1;
