//! The few places SQLite and PostgreSQL need different SQL.
use linli_domain::BBox;

use super::Sql;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
        }
    }

    /// A predicate keeping rows of `table` (aliased `alias`, with `lon`/`lat` columns) inside the box,
    /// using SQLite's R*Tree side table or PostgreSQL's GiST index on `point(lon, lat)`.
    pub(crate) fn push_in_bbox(self, sql: &mut Sql, table: &str, alias: &str, b: &BBox) {
        match self {
            Dialect::Sqlite => {
                sql.push(&format!(" AND {alias}.id IN (SELECT id FROM {table}_rtree WHERE min_lon >= "));
                // The R*Tree stores 32-bit floats rounded outward, so it is a coarse filter; the
                // exact comparison on the row's own columns follows.
                sql.arg(b.min_lon).push(" AND max_lon <= ").arg(b.max_lon);
                sql.push(" AND min_lat >= ").arg(b.min_lat).push(" AND max_lat <= ").arg(b.max_lat).push(")");
                sql.push(&format!(" AND {alias}.lon BETWEEN ")).arg(b.min_lon).push(" AND ").arg(b.max_lon);
                sql.push(&format!(" AND {alias}.lat BETWEEN ")).arg(b.min_lat).push(" AND ").arg(b.max_lat);
            }
            Dialect::Postgres => {
                sql.push(&format!(" AND {alias}.lon IS NOT NULL AND point({alias}.lon, {alias}.lat) <@ box(point("));
                sql.arg(b.min_lon).push(", ").arg(b.min_lat).push("), point(").arg(b.max_lon).push(", ").arg(b.max_lat).push("))");
            }
        }
    }
}
