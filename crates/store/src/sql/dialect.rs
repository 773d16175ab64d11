//! The few places SQLite and PostgreSQL need different SQL.
use linli_domain::{BBox, Level};

use super::Sql;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// Reserves `count` new ids of `table` inside the writing transaction, for rows whose id must
    /// be known before they are inserted (a region's path includes its own id; an imported
    /// order's history rows refer to it). `true`: the query returns the current maximum.
    pub(crate) fn reserve_ids_sql(self, table: &str, count: usize) -> (String, bool) {
        match self {
            // One writer at a time (the single-connection write pool), so MAX(id) is stable
            // for the transaction; another process writing meanwhile makes the commit fail, not collide.
            Dialect::Sqlite => (format!("SELECT COALESCE(MAX(id), 0) AS id FROM {table}"), true),
            Dialect::Postgres => (format!("SELECT nextval(pg_get_serial_sequence('{table}', 'id')) AS id FROM generate_series(1, {count})"), false),
        }
    }

    /// The two-argument minimum and maximum functions.
    pub(crate) fn least_greatest(self) -> (&'static str, &'static str) {
        match self {
            Dialect::Sqlite => ("min", "max"),
            Dialect::Postgres => ("LEAST", "GREATEST"),
        }
    }

    /// Locks the rows a SELECT reads until the transaction ends (SQLite's single writer needs none).
    pub(crate) fn for_update(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE",
        }
    }

    /// Refreshes the planner's statistics of a table (SQLite samples, so this stays fast).
    pub(crate) fn analyze_sql(self, table: &str) -> String {
        match self {
            Dialect::Sqlite => format!("PRAGMA analysis_limit = 1000; ANALYZE {table}"),
            Dialect::Postgres => format!("ANALYZE {table}"),
        }
    }

    /// Whether spatial lists are planned for their actual box: PostgreSQL's generic plan cannot
    /// see how small a box is; SQLite's R*Tree drives the query whatever the box, and re-preparing
    /// only costs it time.
    pub(crate) fn plans_spatial_per_request(self) -> bool {
        self == Dialect::Postgres
    }

    /// The statement that takes the registry lock inside a write transaction, if one is needed.
    pub(crate) fn registry_lock_sql(self, exclusive: bool) -> Option<&'static str> {
        match (self, exclusive) {
            (Dialect::Sqlite, _) => None,
            // An arbitrary constant key, the same for every Linli process on the database.
            (Dialect::Postgres, false) => Some("SELECT pg_advisory_xact_lock_shared(74105116) IS NULL AS locked"),
            (Dialect::Postgres, true) => Some("SELECT pg_advisory_xact_lock(74105116) IS NULL AS locked"),
        }
    }

    /// The statement that serialises telemetry compactions across processes: two at once would
    /// both fold the same readings into the roll-ups. (SQLite has one writer anyway.)
    pub(crate) fn compaction_lock_sql(self) -> Option<&'static str> {
        match self {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some("SELECT pg_advisory_xact_lock(74105117) IS NULL AS locked"),
        }
    }

    /// The statement that makes transactions writing the outbox take turns (see
    /// `SqlStore::begin_outbox_write`). SQLite has one writer anyway.
    pub(crate) fn outbox_lock_sql(self) -> Option<&'static str> {
        match self {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some("SELECT pg_advisory_xact_lock(74105118) IS NULL AS locked"),
        }
    }

    /// The operator for a substring search that ignores ASCII case (SQLite's LIKE already does).
    pub(crate) fn case_insensitive_like(self) -> &'static str {
        match self {
            Dialect::Sqlite => "LIKE",
            Dialect::Postgres => "ILIKE",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
        }
    }

    /// A predicate keeping rows of `table` (aliased `alias`, with `lon`/`lat` columns) inside the box,
    /// using SQLite's R*Tree side table or PostgreSQL's SP-GiST index on `point(lon, lat)`.
    /// Opens the FROM clause of a spatial query. On SQLite the R*Tree drives the query
    /// (`CROSS JOIN` fixes the join order): its matches are few next to the table, and otherwise the
    /// planner would walk the path-ordered index testing every row against the box. Returns whether
    /// it wrote a source, which the caller then joins with `ON <alias>.id = t.id`.
    /// With `level`, only that level (`level_no`) is searched: regions index the level as a third
    /// R*Tree dimension.
    pub(crate) fn push_spatial_source(self, sql: &mut Sql, table: &str, boxes: &[BBox], level: Option<i64>) -> bool {
        let Some(rtree) = self.spatial_candidates_table(table).filter(|_| !boxes.is_empty()) else {
            return false;
        };
        sql.push(&format!("(SELECT id FROM {rtree} WHERE 1 = 1"));
        self.push_spatial_candidates(sql, boxes, level);
        sql.push(") t CROSS JOIN ");
        true
    }

    /// Whether a region's spatial predicate with a level already keeps that level alone
    /// (PostgreSQL's indexes hold the level), so the level's own test — a column the covering
    /// index lacks — can be left out.
    pub(crate) fn spatial_predicate_holds_level(self) -> bool {
        self == Dialect::Postgres
    }

    /// Whether the trigram indexes can serve a search for `q`: pg_trgm takes trigrams from runs
    /// of letters and digits only (CJK included), so `q` needs three of them in a row. A NUL
    /// would end FTS5's reading of the term early.
    pub(crate) fn trigrams_serve(self, q: &str) -> bool {
        let mut run = 0;
        !q.contains('\0')
            && q.chars().any(|c| {
                run = if c.is_alphanumeric() { run + 1 } else { 0 };
                run >= 3
            })
    }

    /// Opens the FROM clause of a name-or-code search for `q` on SQLite: the FTS5 trigram index
    /// beside `table` hands over the candidates (`CROSS JOIN` keeps them the outer loop), which
    /// the caller joins with `ON <alias>.id = t.id` and still tests with LIKE, so the result is
    /// exactly LIKE's. Returns false — the caller scans — on PostgreSQL, whose trigram indexes
    /// serve the LIKE itself, and for terms under three characters, which trigrams cannot serve.
    pub(crate) fn push_search_source(self, sql: &mut Sql, table: &str, q: &str) -> bool {
        if self != Dialect::Sqlite || !self.trigrams_serve(q) {
            return false;
        }
        // Every trigram of the term, each quoted (its own quotes doubled), all required: the index
        // keeps no positions (detail = 'none'), so it hands over candidates holding them all,
        // and the LIKE on the region's own columns keeps the true matches.
        let chars: Vec<char> = q.chars().collect();
        let trigrams: Vec<String> = chars.windows(3).map(|w| format!("\"{}\"", w.iter().collect::<String>().replace('"', "\"\""))).collect();
        sql.push(&format!("(SELECT rowid AS id FROM {table}_search WHERE {table}_search MATCH ")).arg(trigrams.join(" AND ")).push(") t CROSS JOIN ");
        true
    }

    /// Pins a query on `index` where the planner may stray (SQLite without statistics, as after
    /// an import, prefers the (level, path) index and walks a million dwellings per cell);
    /// PostgreSQL plans from its statistics.
    pub(crate) fn use_index(self, index: &str) -> String {
        match self {
            Dialect::Sqlite => format!(" INDEXED BY {index}"),
            Dialect::Postgres => String::new(),
        }
    }

    /// The spatial index table a query draws candidate ids from (SQLite's R*Tree beside `table`);
    /// none where the index serves the table's own rows (PostgreSQL).
    pub(crate) fn spatial_candidates_table(self, table: &str) -> Option<String> {
        (self == Dialect::Sqlite).then(|| format!("{table}_rtree"))
    }

    /// The R*Tree constraints for `boxes` (and a hierarchy level), after a WHERE.
    pub(crate) fn push_spatial_candidates(self, sql: &mut Sql, boxes: &[BBox], level: Option<i64>) {
        // Overlap, not containment: entries are 32-bit boxes rounded outward, so a point on the
        // edge of the query box may be stored as a box that pokes out of it.
        for b in boxes {
            sql.push(" AND max_lon >= ").arg(b.min_lon).push(" AND min_lon <= ").arg(b.max_lon);
            sql.push(" AND max_lat >= ").arg(b.min_lat).push(" AND min_lat <= ").arg(b.max_lat);
        }
        if let Some(level) = level {
            sql.push(" AND min_level >= ").arg(level).push(" AND max_level <= ").arg(level);
        }
    }

    /// The WHERE predicate keeping rows inside a box: exact on the row's own columns (the R*Tree
    /// stores 32-bit floats rounded outward), and on PostgreSQL in a form its indexes serve: for
    /// regions the B-tree over `(level_no, lat_band, lon)`, one short range of longitudes per band
    /// of latitude (see [`LAT_BANDS_PER_DEGREE`]); for devices, and boxes too tall for bands, the
    /// SP-GiST indexes on `point(lon, lat)` (regions: `point(lon, lat + 1000 × level_no)`).
    pub(crate) fn push_in_bbox(self, sql: &mut Sql, alias: &str, b: &BBox, rows: SpatialRows) {
        if self == Dialect::Sqlite {
            sql.push(&format!(" AND {alias}.lon BETWEEN ")).arg(b.min_lon).push(" AND ").arg(b.max_lon);
            sql.push(&format!(" AND {alias}.lat BETWEEN ")).arg(b.min_lat).push(" AND ").arg(b.max_lat);
            return;
        }
        let level = match rows {
            SpatialRows::Points => None,
            // The caller visits the box's cells (and levels) one by one (`cells_covering`): what
            // is left to say is the exact box.
            SpatialRows::Regions { in_cells: true, .. } => {
                sql.push(&format!(" AND {alias}.lon BETWEEN ")).arg(b.min_lon).push(" AND ").arg(b.max_lon);
                sql.push(&format!(" AND {alias}.lat BETWEEN ")).arg(b.min_lat).push(" AND ").arg(b.max_lat);
                return;
            }
            SpatialRows::Regions { level, in_cells: false } => {
                let (low, high) = (lat_band(b.min_lat), lat_band(b.max_lat));
                if high - low < MAX_LAT_BANDS {
                    // Literal integers, computed here, never taken from the caller's text.
                    sql.push(&format!(" AND {alias}.level_no IN ({}) AND {alias}.lat_band IN ({})", int_list(level_numbers(level)), int_list(low..=high)));
                    sql.push(&format!(" AND {alias}.lon BETWEEN ")).arg(b.min_lon).push(" AND ").arg(b.max_lon);
                    sql.push(&format!(" AND {alias}.lat BETWEEN ")).arg(b.min_lat).push(" AND ").arg(b.max_lat);
                    return;
                }
                level
            }
        };
        match level {
            Some(level) => {
                let offset = 1000.0 * level as f64;
                sql.push(&format!(" AND {alias}.lon IS NOT NULL AND point({alias}.lon, {alias}.lat + 1000 * {alias}.level_no) <@ box(point("));
                sql.arg(b.min_lon).push(", ").arg(b.min_lat + offset).push("), point(").arg(b.max_lon).push(", ").arg(b.max_lat + offset).push("))");
            }
            None => {
                sql.push(&format!(" AND {alias}.lon IS NOT NULL AND point({alias}.lon, {alias}.lat) <@ box(point("));
                sql.arg(b.min_lon).push(", ").arg(b.min_lat).push("), point(").arg(b.max_lon).push(", ").arg(b.max_lat).push("))");
            }
        }
    }
}

/// What a spatial predicate is written for: devices (points), or regions of one level or all —
/// `in_cells` when the query already visits the box's cells one by one (PostgreSQL).
#[derive(Debug, Clone, Copy)]
pub(crate) enum SpatialRows {
    Points,
    Regions { level: Option<i64>, in_cells: bool },
}

/// Each region keeps its `cell`, a square of 0.001° (about 111 × 85 m here), computed in the
/// migrations `0009_region_cells.sql` exactly as [`cell_of`] does. Its index, `(cell, level_no,
/// id)`, lists a cell's regions of a level in id order, so a page in id order visits each cell of
/// the box for its first ids alone instead of collecting every match.
const CELLS_PER_DEGREE: f64 = 1000.0;

/// Boxes needing more visits (cells × levels) than this use the R*Tree (SQLite) or the
/// latitude bands (PostgreSQL) instead; SQLite also allows at most 500 branches in a compound.
pub(crate) const MAX_CELL_VISITS: i64 = 400;

fn cell_of(lon_step: i64, lat_step: i64) -> i64 {
    lat_step * 1_000_000 + lon_step + 180_000
}

/// The cells covering `b`, or none where there are too many to visit one by one.
pub(crate) fn cells_covering(b: &BBox) -> Option<Vec<i64>> {
    let step = |v: f64| (v * CELLS_PER_DEGREE).floor() as i64;
    let (lons, lats) = (step(b.min_lon)..=step(b.max_lon), step(b.min_lat)..=step(b.max_lat));
    if (lons.end() - lons.start() + 1) * (lats.end() - lats.start() + 1) > MAX_CELL_VISITS {
        return None;
    }
    Some(lats.flat_map(|lat| lons.clone().map(move |lon| cell_of(lon, lat))).collect())
}

/// PostgreSQL keeps each region's `lat_band = floor(lat × 1000)` (bands of about 111 m; the
/// migration `0007_region_bands.sql` computes it the same way). A box is searched one band at a
/// time, each a contiguous range of the B-tree, so points stacked on one spot (a building's
/// dwellings) cost what distinct points do — SP-GiST degrades on them.
pub(crate) const LAT_BANDS_PER_DEGREE: f64 = 1000.0;

/// Boxes spanning more bands than this (about 440 km) use the SP-GiST index instead.
const MAX_LAT_BANDS: i64 = 4000;

/// Integers written `1,2,3`: the Any driver binds no arrays, so lists go as literals or text.
pub(crate) fn int_list(items: impl IntoIterator<Item = i64>) -> String {
    items.into_iter().map(|n| n.to_string()).collect::<Vec<_>>().join(",")
}

/// The level numbers a region list covers: its level's, or every level's.
pub(crate) fn level_numbers(level: Option<i64>) -> Vec<i64> {
    match level {
        Some(level) => vec![level],
        None => (0..Level::ALL.len() as i64).collect(),
    }
}

fn lat_band(lat: f64) -> i64 {
    (lat * LAT_BANDS_PER_DEGREE).floor() as i64
}
