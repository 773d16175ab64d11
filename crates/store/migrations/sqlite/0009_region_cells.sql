-- Small spatial region lists visit the box's cells (squares of 0.001°) one by one, each giving
-- its first ids in id order from this index (the rowid ends every index), so a page costs what
-- the page holds, however many regions the box holds. The cell must be computed as `cell_of` in
-- src/sql/dialect.rs does: floor(lat × 1000) × 1,000,000 + floor(lon × 1000) + 180,000, floor
-- written with CAST (which truncates) for SQLite builds without math functions.
ALTER TABLE regions ADD COLUMN cell INTEGER GENERATED ALWAYS AS (
    (CAST(lat * 1000 AS INTEGER) - (lat * 1000 < CAST(lat * 1000 AS INTEGER))) * 1000000
    + (CAST(lon * 1000 AS INTEGER) - (lon * 1000 < CAST(lon * 1000 AS INTEGER))) + 180000
) VIRTUAL;
CREATE INDEX regions_cell ON regions (cell, level_no) WHERE lon IS NOT NULL;
