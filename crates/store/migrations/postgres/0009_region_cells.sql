-- Small spatial region lists visit the box's cells (squares of 0.001°) one by one, each giving
-- its first ids in id order from this index, so a page costs what the page holds, however many
-- regions the box holds. The cell must be computed as `cell_of` in src/sql/dialect.rs does.
ALTER TABLE regions ADD COLUMN cell BIGINT GENERATED ALWAYS AS (floor(lat * 1000)::bigint * 1000000 + floor(lon * 1000)::bigint + 180000) STORED;
CREATE INDEX regions_cell ON regions (cell, level_no, id) INCLUDE (lon, lat, path) WHERE lon IS NOT NULL;
