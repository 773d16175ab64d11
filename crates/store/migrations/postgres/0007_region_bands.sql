-- Spatial region lists walk a B-tree one band of latitude (about 111 m) at a time, a contiguous
-- range of longitudes in each, and read ids and paths from the index alone. SP-GiST, kept for
-- devices and for boxes too tall for bands, degrades where many points share a spot (the
-- dwellings of a building without positions of their own). The band must be computed as
-- `lat_band` in src/sql/dialect.rs does: floor(lat × 1000).
ALTER TABLE regions ADD COLUMN lat_band INTEGER GENERATED ALWAYS AS (floor(lat * 1000)) STORED;
CREATE INDEX regions_band ON regions (level_no, lat_band, lon) INCLUDE (id, path, lat) WHERE lon IS NOT NULL;
