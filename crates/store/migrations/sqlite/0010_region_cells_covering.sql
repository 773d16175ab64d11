-- Cell visits read no table row: the index holds, after the id, what a visit tests (position,
-- and path for the jurisdiction), so only the page's own rows are read. Measured on a million
-- dwellings (4 connections): a 200 m radius 6.2 → 4.4 ms p50, 12.5 → 8.2 ms p99.
DROP INDEX regions_cell;
CREATE INDEX regions_cell ON regions (cell, level_no, id, lon, lat, path) WHERE lon IS NOT NULL;
