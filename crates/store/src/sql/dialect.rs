//! The few places SQLite and PostgreSQL need different SQL.
use linli_domain::BBox;

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

    /// Whether spatial lists choose their page of ids before fetching rows (PostgreSQL), rather
    /// than joining from the R*Tree and sorting full rows (SQLite, where that measured faster).
    pub(crate) fn pages_spatial_ids_first(self) -> bool {
        self == Dialect::Postgres
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
        if self != Dialect::Sqlite || boxes.is_empty() {
            return false;
        }
        sql.push(&format!("(SELECT id FROM {table}_rtree WHERE 1 = 1"));
        // Overlap, not containment: entries are 32-bit boxes rounded outward, so a point on the
        // edge of the query box may be stored as a box that pokes out of it.
        for b in boxes {
            sql.push(" AND max_lon >= ").arg(b.min_lon).push(" AND min_lon <= ").arg(b.max_lon);
            sql.push(" AND max_lat >= ").arg(b.min_lat).push(" AND min_lat <= ").arg(b.max_lat);
        }
        if let Some(level) = level {
            sql.push(" AND min_level >= ").arg(level).push(" AND max_level <= ").arg(level);
        }
        sql.push(") t CROSS JOIN ");
        true
    }

    /// The WHERE predicate keeping rows inside a box: exact on the row's own columns (the R*Tree
    /// stores 32-bit floats rounded outward), and on PostgreSQL in a form its SP-GiST indexes serve —
    /// `point(lon, lat)`, or with `level`, `point(lon, lat + 1000 × level_no)`.
    pub(crate) fn push_in_bbox(self, sql: &mut Sql, alias: &str, b: &BBox, level: Option<i64>) {
        match self {
            Dialect::Sqlite => {
                sql.push(&format!(" AND {alias}.lon BETWEEN ")).arg(b.min_lon).push(" AND ").arg(b.max_lon);
                sql.push(&format!(" AND {alias}.lat BETWEEN ")).arg(b.min_lat).push(" AND ").arg(b.max_lat);
            }
            Dialect::Postgres => match level {
                Some(level) => {
                    let offset = 1000.0 * level as f64;
                    sql.push(&format!(" AND {alias}.lon IS NOT NULL AND point({alias}.lon, {alias}.lat + 1000 * {alias}.level_no) <@ box(point("));
                    sql.arg(b.min_lon).push(", ").arg(b.min_lat + offset).push("), point(").arg(b.max_lon).push(", ").arg(b.max_lat + offset).push("))");
                }
                None => {
                    sql.push(&format!(" AND {alias}.lon IS NOT NULL AND point({alias}.lon, {alias}.lat) <@ box(point("));
                    sql.arg(b.min_lon).push(", ").arg(b.min_lat).push("), point(").arg(b.max_lon).push(", ").arg(b.max_lat).push("))");
                }
            },
        }
    }
}
