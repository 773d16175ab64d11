//! The SQL implementation of [`Store`](crate::Store), shared by SQLite and PostgreSQL.
mod config;
mod devices;
mod dialect;
mod events;
mod import;
mod orders;
mod organisations;
mod query;
mod records;
mod regions;
mod residents;
mod sensing;
mod situation;
mod store_impl;
mod users;
mod whistles;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use dialect::Dialect;
use dialect::SpatialRows;
pub(crate) use query::{Arg, Sql};

use crate::error::StoreError;
use crate::model::{Jurisdiction, Page, PageRequest, ScopeRoot};
use crate::Result;

/// A [`Store`](crate::Store) on SQLite or PostgreSQL.
///
/// SQLite allows one writer at a time, so writes go through a pool of one connection and never
/// meet `SQLITE_BUSY` from each other; reads use a wider pool. On PostgreSQL both are one pool.
pub struct SqlStore {
    pub(crate) reader: AnyPool,
    pub(crate) writer: AnyPool,
    pub(crate) dialect: Dialect,
}

impl SqlStore {
    /// Opens (creating if needed) the SQLite database at `path`, in WAL mode, and migrates it.
    pub async fn open_sqlite(path: &std::path::Path) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = |max: u32| {
            AnyPoolOptions::new()
                .max_connections(max)
                .acquire_timeout(Duration::from_secs(30))
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;").await?;
                        Ok(())
                    })
                })
        };
        let writer = pool(1).connect_with(options.clone()).await?;
        sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        let reader = pool(4).connect_with(options).await?;
        Ok(SqlStore { reader, writer, dialect: Dialect::Sqlite })
    }

    /// Connects to PostgreSQL at `url` and migrates. With `schema`, everything lives in that
    /// schema (created if missing), which lets tests and several deployments share one database.
    pub async fn connect_postgres(url: &str, schema: Option<&str>, max_connections: u32) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let options = AnyConnectOptions::from_str(url)?;
        if let Some(schema) = schema {
            if !schema.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(StoreError::invalid("schema", "must be letters, digits and '_'"));
            }
            let setup = AnyPoolOptions::new().max_connections(1).connect_with(options.clone()).await?;
            setup.execute(format!("CREATE SCHEMA IF NOT EXISTS {schema}").as_str()).await?;
            setup.close().await;
        }
        let search_path = schema.map(|s| format!("SET search_path TO {s}"));
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(2))
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| {
                let search_path = search_path.clone();
                Box::pin(async move {
                    if let Some(sql) = search_path {
                        conn.execute(sql.as_str()).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(SqlStore { reader: pool.clone(), writer: pool, dialect: Dialect::Postgres })
    }

    /// Opens whichever backend the URL names: `sqlite://PATH` (or a bare path) or `postgres://…`.
    pub async fn open(url: &str) -> Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::connect_postgres(url, None, 16).await
        } else {
            let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
            let path = path.split('?').next().unwrap_or(path);
            Self::open_sqlite(std::path::Path::new(path)).await
        }
    }

    /// Starts a write transaction. Writes that attach records under a node hold the registry lock
    /// shared; moves hold it exclusively, so nothing is attached under a path being rewritten.
    /// (SQLite has one writer at a time already.)
    pub(crate) async fn begin_write(&self, exclusive: bool) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        let mut tx = self.writer.begin().await?;
        if let Some(lock) = self.dialect.registry_lock_sql(exclusive) {
            self.sql(lock).execute(&mut *tx).await?;
        }
        Ok(tx)
    }

    /// Starts a write transaction that will add to the outbox. On PostgreSQL these transactions
    /// take turns (a lock taken first, before any row lock, so they cannot deadlock): outbox ids
    /// come from a sequence when a row is inserted, not when it commits, and readers that move a
    /// cursor past the highest id seen would otherwise skip a row that commits after a later one.
    pub(crate) async fn begin_outbox_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        let mut tx = self.begin_write(false).await?;
        if let Some(lock) = self.dialect.outbox_lock_sql() {
            self.sql(lock).fetch_all(&mut *tx).await?;
        }
        Ok(tx)
    }

    /// Starts a statement in this backend's dialect.
    pub(crate) fn sql(&self, text: &str) -> Sql {
        Sql::new(self.dialect, text)
    }

    /// Drops a schema made by [`SqlStore::connect_postgres`] and everything in it (tests clean up
    /// after themselves with this).
    pub async fn drop_postgres_schema(url: &str, schema: &str) -> Result<()> {
        sqlx::any::install_default_drivers();
        if !schema.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(StoreError::invalid("schema", "must be letters, digits and '_'"));
        }
        let setup = AnyPoolOptions::new().max_connections(1).connect_with(AnyConnectOptions::from_str(url)?).await?;
        setup.execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE").as_str()).await?;
        setup.close().await;
        Ok(())
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }

    pub(crate) async fn jurisdiction_of(&self, region_code: Option<&str>) -> Result<Jurisdiction> {
        let Some(code) = region_code else {
            return Ok(Jurisdiction::everywhere());
        };
        let mut sql = self.sql("SELECT id, path FROM regions WHERE code = ");
        sql.arg(code);
        let row = sql.fetch_optional(&self.reader).await?.ok_or_else(|| StoreError::not_found("region", code))?;
        Ok(Jurisdiction { root: Some(ScopeRoot { code: code.to_string(), id: row_get(&row, "id")?, path: row_get(&row, "path")? }) })
    }
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

pub(crate) fn row_get<'r, T>(row: &'r sqlx::any::AnyRow, column: &str) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    use sqlx::Row;
    Ok(row.try_get(column)?)
}

pub(crate) fn parse_json_object(raw: &str) -> Result<linli_domain::Attributes> {
    serde_json::from_str(raw).map_err(|e| StoreError::Corrupt(format!("attributes: {e}")))
}

/// Cuts a fetched `limit + 1` rows, each with its cursor, to a page with the cursor of its last
/// row when more remain.
pub(crate) fn into_page<T>(mut items: Vec<(String, T)>, page: &PageRequest) -> Page<T> {
    let more = items.len() > page.limit as usize;
    items.truncate(page.limit as usize);
    let next_cursor = if more { items.last().map(|(cursor, _)| cursor.clone()) } else { None };
    Page { items: items.into_iter().map(|(_, item)| item).collect(), next_cursor }
}

pub(crate) fn bad_cursor() -> StoreError {
    StoreError::invalid("cursor", "is not a cursor this API returned")
}

/// Escapes a user's search text for `LIKE … ESCAPE '\'` and wraps it for a substring match.
pub(crate) fn like_pattern(q: &str) -> String {
    let mut out = String::with_capacity(q.len() + 2);
    out.push('%');
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// The boxes a spatial filter searches: the bounding box, and the box around the radius.
pub(crate) fn spatial_boxes(filter: &crate::model::SpatialFilter) -> Vec<linli_domain::BBox> {
    filter.bbox.iter().copied().chain(filter.near.map(|n| linli_domain::BBox::around(n.center, n.radius_m))).collect()
}

/// Adds the bounding-box and radius predicates on a table with `lon`/`lat` columns, written for
/// the index `rows` names.
/// The radius test is equirectangular (error under 0.5 % up to 100 km), which keeps it plain
/// arithmetic that both backends evaluate without math extensions.
pub(crate) fn push_spatial_where(sql: &mut Sql, dialect: Dialect, alias: &str, filter: &crate::model::SpatialFilter, rows: SpatialRows) {
    for b in spatial_boxes(filter) {
        dialect.push_in_bbox(sql, alias, &b, rows);
    }
    if let Some(near) = &filter.near {
        let lon_scale = near.center.lat.to_radians().cos();
        let radius_deg = near.radius_m / METRES_PER_DEGREE;
        sql.push(&format!(" AND (({alias}.lon - ")).arg(near.center.lon).push(") * ").arg(lon_scale);
        sql.push(&format!(") * (({alias}.lon - ")).arg(near.center.lon).push(") * ").arg(lon_scale);
        sql.push(&format!(") + ({alias}.lat - ")).arg(near.center.lat).push(&format!(") * ({alias}.lat - ")).arg(near.center.lat);
        sql.push(") <= ").arg(radius_deg * radius_deg);
    }
}

/// Metres per degree of latitude on the mean-radius sphere.
const METRES_PER_DEGREE: f64 = 111_195.08;

/// Adds `AND <column> >= lo AND <column> < hi` for a jurisdiction or a `within` node.
pub(crate) fn push_path_range(sql: &mut Sql, column: &str, range: Option<(String, String)>) {
    if let Some((lo, hi)) = range {
        sql.push(&format!(" AND {column} >= ")).arg(lo).push(&format!(" AND {column} < ")).arg(hi);
    }
}

/// Adds the keyset condition and order/limit for creation order (cursor: the last id).
/// One extra row is fetched to know whether more remain.
pub(crate) fn push_page(sql: &mut Sql, id_column: &str, page: &PageRequest) -> Result<()> {
    if let Some(after) = &page.after {
        sql.push(&format!(" AND {id_column} > ")).arg(after.parse::<i64>().map_err(|_| bad_cursor())?);
    }
    sql.push(&format!(" ORDER BY {id_column} LIMIT ")).arg(i64::from(page.limit) + 1);
    Ok(())
}

/// Keyset paging newest first over a numeric id (cursor: the last id).
pub(crate) fn push_page_desc(sql: &mut Sql, id_column: &str, page: &PageRequest) -> Result<()> {
    if let Some(after) = &page.after {
        sql.push(&format!(" AND {id_column} < ")).arg(after.parse::<i64>().map_err(|_| bad_cursor())?);
    }
    sql.push(&format!(" ORDER BY {id_column} DESC LIMIT ")).arg(i64::from(page.limit) + 1);
    Ok(())
}

/// Keyset paging in hierarchy order over a unique path column (regions; cursor: the last path),
/// inside `subtree`. The cursor and the subtree's lower bound are merged into one bound: given
/// two, the planners take one for the index range and filter with the other, which walked every
/// row before the cursor.
///
/// With `sort_matches`, the order is written so no index can deliver it: for a spatial filter the
/// planner must then fetch the (few) matches and sort them, instead of walking the path index and
/// testing every row against the box, which PostgreSQL otherwise picks from its rough box estimate.
pub(crate) fn push_page_by_path(sql: &mut Sql, path_column: &str, subtree: Option<(String, String)>, page: &PageRequest, sort_matches: bool) -> Result<()> {
    let (lo, hi) = subtree.unzip();
    match &page.after {
        Some(after) => {
            let valid = after.starts_with('/') && after.bytes().all(|b| b.is_ascii_digit() || b == b'/');
            if !valid {
                return Err(bad_cursor());
            }
            match lo {
                Some(lo) if lo.as_str() > after.as_str() => sql.push(&format!(" AND {path_column} >= ")).arg(lo),
                _ => sql.push(&format!(" AND {path_column} > ")).arg(after.as_str()),
            };
        }
        None => {
            if let Some(lo) = lo {
                sql.push(&format!(" AND {path_column} >= ")).arg(lo);
            }
        }
    }
    if let Some(hi) = hi {
        sql.push(&format!(" AND {path_column} < ")).arg(hi);
    }
    let order = if sort_matches { format!("{path_column} || ''") } else { path_column.to_string() };
    sql.push(&format!(" ORDER BY {order} LIMIT ")).arg(i64::from(page.limit) + 1);
    Ok(())
}

/// Keyset paging in hierarchy order over records attached to regions (cursor: `path~id`), inside
/// `subtree`. The (region_path, id) index serves both the range and the order, so a page costs
/// the same anywhere in a list; the cursor and the subtree's lower bound are merged as above.
pub(crate) fn push_page_by_region(sql: &mut Sql, path_column: &str, id_column: &str, subtree: Option<(String, String)>, page: &PageRequest) -> Result<()> {
    let (lo, hi) = subtree.unzip();
    match &page.after {
        Some(after) => {
            let (path, id) = crate::model::parse_path_cursor(after).ok_or_else(bad_cursor)?;
            match lo {
                Some(lo) if lo > path => sql.push(&format!(" AND {path_column} >= ")).arg(lo),
                _ => sql.push(&format!(" AND ({path_column}, {id_column}) > (")).arg(path).push(", ").arg(id).push(")"),
            };
        }
        None => {
            if let Some(lo) = lo {
                sql.push(&format!(" AND {path_column} >= ")).arg(lo);
            }
        }
    }
    if let Some(hi) = hi {
        sql.push(&format!(" AND {path_column} < ")).arg(hi);
    }
    sql.push(&format!(" ORDER BY {path_column}, {id_column} LIMIT ")).arg(i64::from(page.limit) + 1);
    Ok(())
}

/// The cursor of a record attached to a region.
pub(crate) fn region_cursor(path: &str, id: i64) -> String {
    format!("{path}~{id}")
}
