//! Regions: the hierarchy from city to dwelling.
use linli_domain::region::{NewRegion, RegionPatch};
use linli_domain::{Geometry, Level, Position, Region};
use sqlx::any::AnyRow;

use super::dialect::{cells_covering, int_list, level_numbers, SpatialRows, MAX_CELL_VISITS};
use super::query::Sql;
use super::{
    bad_cursor, into_page, like_pattern, now_ms, parse_json_object, push_page_by_path, push_path_range, push_spatial_where, row_get, spatial_boxes, SqlStore,
};
use crate::error::StoreError;
use crate::model::{effective_position, prefix_range, Jurisdiction, Page, PageRequest, RegionFilter};
use crate::Result;

pub(crate) const REGION_COLUMNS: &str = "r.id, r.code, r.level, r.name, p.code AS parent_code, r.path, r.geometry, r.lon, r.lat, r.attributes, r.updated_at";
pub(crate) const REGION_FROM: &str = " FROM regions r LEFT JOIN regions p ON p.id = r.parent_id";

/// What the store keeps about a node besides its public record.
#[derive(Debug, Clone)]
pub(crate) struct RegionKey {
    pub id: i64,
    pub level: Level,
    /// Ids from the root down to the node itself; descendants' paths start with it.
    pub path: String,
    pub position: Option<Position>,
}

impl RegionKey {
    /// The path of a child with id `id`.
    pub fn child_path(&self, id: i64) -> String {
        format!("{}{id}/", self.path)
    }
}

pub(crate) fn region_from_row(row: &AnyRow) -> Result<(RegionKey, Region)> {
    let level_text: String = row_get(row, "level")?;
    let level = Level::parse("level", &level_text).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let geometry: Option<String> = row_get(row, "geometry")?;
    let geometry = geometry.map(|g| serde_json::from_str(&g).map(Geometry)).transpose().map_err(|e| StoreError::Corrupt(format!("geometry: {e}")))?;
    let lon: Option<f64> = row_get(row, "lon")?;
    let lat: Option<f64> = row_get(row, "lat")?;
    let position = lon.zip(lat).map(|(lon, lat)| Position { lon, lat });
    let key = RegionKey { id: row_get(row, "id")?, level, path: row_get(row, "path")?, position };
    let attributes: String = row_get(row, "attributes")?;
    let region = Region {
        code: row_get(row, "code")?,
        level,
        name: row_get(row, "name")?,
        parent_code: row_get(row, "parent_code")?,
        geometry,
        position,
        attributes: parse_json_object(&attributes)?,
        updated_at: row_get(row, "updated_at")?,
    };
    Ok((key, region))
}

impl SqlStore {
    pub(crate) async fn region_row<'c, E>(&self, executor: E, code: &str) -> Result<(RegionKey, Region)>
    where
        E: sqlx::Executor<'c, Database = sqlx::Any>,
    {
        let mut sql = self.sql(&format!("SELECT {REGION_COLUMNS}{REGION_FROM} WHERE r.code = "));
        sql.arg(code);
        let row = sql.fetch_optional(executor).await?.ok_or_else(|| StoreError::not_found("region", code))?;
        region_from_row(&row)
    }

    /// Looks up a node another record refers to, naming `field` when it is missing or out of reach.
    pub(crate) async fn referenced_region<'c, E>(&self, executor: E, scope: &Jurisdiction, field: &str, code: &str) -> Result<RegionKey>
    where
        E: sqlx::Executor<'c, Database = sqlx::Any>,
    {
        let (key, _) = match self.region_row(executor, code).await {
            Err(StoreError::NotFound { .. }) => return Err(StoreError::invalid(field, format!("region {code:?} does not exist"))),
            other => other?,
        };
        if !scope.covers_path(&key.path) {
            return Err(StoreError::out_of_scope("region", code));
        }
        Ok(key)
    }

    pub(crate) async fn create_region_impl(&self, scope: &Jurisdiction, new: &NewRegion) -> Result<Region> {
        let mut tx = self.begin_write(false).await?;
        let parent = match &new.parent_code {
            Some(parent_code) => {
                let parent = self.referenced_region(&mut *tx, scope, "parent_code", parent_code).await?;
                new.level.check_parent(parent.level).map_err(|e| StoreError::Invalid(e.into()))?;
                Some(parent)
            }
            None if scope.root.is_some() => return Err(StoreError::out_of_scope("region", &new.code)),
            None => None,
        };
        let id = self.reserve_ids(&mut tx, "regions", 1).await?[0];
        let path = parent.as_ref().map_or_else(|| format!("/{id}/"), |p| p.child_path(id));
        let position = effective_position(new.geometry.as_ref(), parent.as_ref().and_then(|p| p.position));
        let mut sql = self.sql(&format!("INSERT INTO regions ({REGION_INSERT_COLUMNS}) VALUES "));
        sql.tuple(region_values(new, id, parent.as_ref().map(|p| p.id), path, position, now_ms()));
        sql.execute(&mut *tx).await.map_err(|e| StoreError::from_unique(e, || format!("region code {:?} already exists", new.code)))?;
        let (_, region) = self.region_row(&mut *tx, &new.code).await?;
        tx.commit().await?;
        Ok(region)
    }

    pub(crate) async fn get_region_impl(&self, scope: &Jurisdiction, code: &str) -> Result<Region> {
        let (key, region) = self.region_row(&self.reader, code).await?;
        if !scope.covers_path(&key.path) {
            return Err(StoreError::out_of_scope("region", code));
        }
        Ok(region)
    }

    pub(crate) async fn update_region_impl(&self, scope: &Jurisdiction, code: &str, patch: &RegionPatch) -> Result<Region> {
        let mut tx = self.begin_write(true).await?;
        let (key, region) = self.region_row(&mut *tx, code).await?;
        let old_path = key.path.clone();
        if !scope.covers_path(&old_path) {
            return Err(StoreError::out_of_scope("region", code));
        }
        let mut parent_id: Option<i64> = None;
        let mut new_path = old_path.clone();
        let mut parent_position = None;
        if let Some(parent_code) = &patch.parent_code {
            if parent_code == code {
                return Err(StoreError::invalid("parent_code", "a node cannot be its own parent (cycle)"));
            }
            let parent = self.referenced_region(&mut *tx, scope, "parent_code", parent_code).await?;
            if parent.path.starts_with(&old_path) {
                return Err(StoreError::invalid("parent_code", format!("{parent_code:?} lies below {code:?}; moving there would make a cycle")));
            }
            region.level.check_parent(parent.level).map_err(|e| StoreError::Invalid(e.into()))?;
            if key.id == scope.root.as_ref().map(|r| r.id).unwrap_or(-1) {
                return Err(StoreError::out_of_scope("region", code));
            }
            parent_id = Some(parent.id);
            new_path = parent.child_path(key.id);
            parent_position = parent.position;
        } else if let Some(parent) = &region.parent_code {
            parent_position = self.region_row(&mut *tx, parent).await?.0.position;
        }
        let geometry = match &patch.geometry {
            Some(g) => g.clone(),
            None => region.geometry.clone(),
        };
        let position = effective_position(geometry.as_ref(), parent_position);
        let name = patch.name.clone().unwrap_or(region.name.clone());
        let attributes = patch.attributes.clone().unwrap_or(region.attributes.clone());
        let mut sql = self.sql("UPDATE regions SET name = ");
        sql.arg(name).push(", geometry = ").arg(geometry.map(|g| g.0.to_string()));
        sql.push(", lon = ").arg(position.map(|p| p.lon)).push(", lat = ").arg(position.map(|p| p.lat));
        sql.push(", attributes = ").arg(serde_json::Value::Object(attributes).to_string()).push(", updated_at = ").arg(now_ms());
        if let Some(parent_id) = parent_id {
            sql.push(", parent_id = ").arg(parent_id);
        }
        sql.push(" WHERE id = ").arg(key.id);
        sql.execute(&mut *tx).await?;
        if new_path != old_path {
            self.rewrite_paths(&mut tx, &old_path, &new_path).await?;
        }
        if position != key.position {
            self.move_inherited_positions(&mut tx, &new_path, key.position, position).await?;
        }
        let (_, region) = self.region_row(&mut *tx, code).await?;
        tx.commit().await?;
        Ok(region)
    }

    /// Descendants without geometry of their own sit where the node sat; when the node's position
    /// changes, those still at its old position follow it (descendants placed by a geometry of
    /// their own, or under a deeper node with one, stay where they are).
    async fn move_inherited_positions(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        path: &str,
        old: Option<Position>,
        new: Option<Position>,
    ) -> Result<()> {
        let (lo, hi) = prefix_range(path);
        let mut sql = self.sql("UPDATE regions SET lon = ");
        sql.arg(new.map(|p| p.lon)).push(", lat = ").arg(new.map(|p| p.lat));
        sql.push(" WHERE path > ").arg(lo).push(" AND path < ").arg(hi).push(" AND geometry IS NULL");
        match old {
            Some(old) => sql.push(" AND lon = ").arg(old.lon).push(" AND lat = ").arg(old.lat),
            None => sql.push(" AND lon IS NULL"),
        };
        sql.execute(&mut **tx).await?;
        Ok(())
    }

    /// After a move, rewrites every stored path under `old` to start with `new` instead.
    async fn rewrite_paths(&self, tx: &mut sqlx::Transaction<'_, sqlx::Any>, old: &str, new: &str) -> Result<()> {
        let (lo, hi) = prefix_range(old);
        for (table, column) in [
            ("regions", "path"),
            ("residents", "region_path"),
            ("organisations", "region_path"),
            ("devices", "region_path"),
            ("incidents", "region_path"),
            ("events", "region_path"),
            ("orders", "region_path"),
            ("whistles", "region_path"),
            ("summons", "region_path"),
            ("applications", "region_path"),
        ] {
            let mut sql = self.sql(&format!("UPDATE {table} SET {column} = "));
            sql.arg(new).push(&format!(" || substr({column}, CAST(")).arg(old.len() as i64 + 1).push(" AS INTEGER))");
            sql.push(&format!(" WHERE {column} >= ")).arg(lo.clone()).push(&format!(" AND {column} < ")).arg(hi.clone());
            sql.execute(&mut **tx).await?;
        }
        Ok(())
    }

    pub(crate) async fn delete_region_impl(&self, scope: &Jurisdiction, code: &str) -> Result<()> {
        let mut tx = self.begin_write(false).await?;
        let (key, _) = self.region_row(&mut *tx, code).await?;
        if !scope.covers_path(&key.path) || scope.root.as_ref().is_some_and(|r| r.id == key.id) {
            return Err(StoreError::out_of_scope("region", code));
        }
        let checks = [
            ("child regions", "SELECT COUNT(*) AS n FROM regions WHERE parent_id = "),
            ("residents", "SELECT COUNT(*) AS n FROM residents WHERE home_id = "),
            ("resident links", "SELECT COUNT(*) AS n FROM resident_dwellings WHERE region_id = "),
            ("organisations", "SELECT COUNT(*) AS n FROM organisations WHERE region_id = "),
            ("devices", "SELECT COUNT(*) AS n FROM devices WHERE region_id = "),
            ("users", "SELECT COUNT(*) AS n FROM users WHERE region_id = "),
        ];
        for (what, query) in checks {
            let mut sql = self.sql(query);
            sql.arg(key.id);
            let n: i64 = row_get(&sql.fetch_optional(&mut *tx).await?.ok_or_else(|| StoreError::Corrupt("count".into()))?, "n")?;
            if n > 0 {
                return Err(StoreError::Conflict(format!("region {code:?} still has {n} {what}; remove or move them first")));
            }
        }
        let mut sql = self.sql("DELETE FROM regions WHERE id = ");
        sql.arg(key.id);
        sql.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn list_regions_impl(&self, scope: &Jurisdiction, filter: &RegionFilter, page: &PageRequest) -> Result<Page<Region>> {
        // One range on the path: `within` lies inside the jurisdiction, so it replaces it.
        let subtree = match &filter.within_code {
            Some(within) => Some(prefix_range(&self.referenced_region(&self.reader, scope, "within", within).await?.path)),
            None => scope.path_range(),
        };
        let parent_id = match &filter.parent_code {
            Some(parent) => Some(self.referenced_region(&self.reader, scope, "parent", parent).await?.id),
            None => None,
        };
        if !spatial_boxes(&filter.spatial).is_empty() {
            return self.list_regions_in_space(filter, page, subtree, parent_id).await;
        }
        let mut sql = self.sql(&format!("SELECT {REGION_COLUMNS} FROM "));
        let searched = filter.q.as_deref().is_some_and(|q| self.dialect.push_search_source(&mut sql, "regions", q));
        sql.push(if searched { "regions r ON r.id = t.id" } else { "regions r" });
        sql.push(" LEFT JOIN regions p ON p.id = r.parent_id WHERE 1 = 1");
        if filter.q.is_some() {
            // How many rows a search term matches varies by term: plan with the term in hand.
            sql.plan_each_time();
        }
        self.push_region_filters(&mut sql, filter, parent_id, false);
        push_page_by_path(&mut sql, "r.path", subtree, page, searched)?;
        let rows = sql.fetch_all(&self.reader).await?;
        let items = rows.iter().map(|row| region_from_row(row).map(|(k, r)| (k.path, r))).collect::<Result<Vec<_>>>()?;
        Ok(into_page(items, page))
    }

    /// A spatial list (`bbox`, `near`), in id order (cursor: the last id). A dense box holds
    /// thousands of matches; id order lets the spatial index hand over a sorted page of candidate
    /// ids without any row being read, where hierarchy order had to read and sort every match.
    async fn list_regions_in_space(
        &self,
        filter: &RegionFilter,
        page: &PageRequest,
        subtree: Option<(String, String)>,
        parent_id: Option<i64>,
    ) -> Result<Page<Region>> {
        let after = match &page.after {
            Some(after) => after.parse::<i64>().map_err(|_| bad_cursor())?,
            None => 0,
        };
        let level = filter.level.map(Level::ordinal);
        let want = i64::from(page.limit) + 1;
        // Where the box covers few cells (squares of 0.001°), each cell and level gives its first
        // ids in id order from the `(cell, level_no, id)` index, and the page is the smallest of
        // those: the work follows the page, not the matches.
        let levels = level_numbers(level);
        let cells = spatial_boxes(&filter.spatial)
            .iter()
            .filter_map(cells_covering)
            .min_by_key(Vec::len)
            .filter(|cells| (cells.len() * levels.len()) as i64 <= MAX_CELL_VISITS);
        let found = match (cells, self.dialect.spatial_candidates_table("regions")) {
            (Some(cells), Some(_)) => {
                // SQLite: one compound statement of cell visits. Its index holds position and
                // path after the id, so a visit reads no table row. One level comes in id order.
                // For every level, dwellings (the deepest level, most of any cell) come in id
                // order and the few regions above them are sorted: a branch per level made a
                // statement of hundreds of branches, slower to prepare than to run.
                let deepest = Level::ALL.len() as i64 - 1;
                let mut sql = self.sql(&format!("SELECT {REGION_COLUMNS} FROM ("));
                let visits = cells.iter().flat_map(|&cell| match level {
                    Some(level) => vec![(cell, level, level)],
                    None => vec![(cell, deepest, deepest), (cell, 0, deepest - 1)],
                });
                for (n, (cell, low, high)) in visits.enumerate() {
                    sql.push(if n == 0 { "SELECT id FROM (" } else { " UNION ALL SELECT id FROM (" });
                    self.push_cell_visit(&mut sql, filter, parent_id, subtree.clone(), after, want, |sql| {
                        sql.push(" AND r.cell = ").arg(cell);
                        if low == high {
                            sql.push(" AND r.level_no = ").arg(low);
                        } else {
                            sql.push(" AND r.level_no BETWEEN ").arg(low).push(" AND ").arg(high);
                        }
                    });
                    sql.push(")");
                }
                sql.push(" ORDER BY id LIMIT ").arg(want);
                sql.push(") t CROSS JOIN regions r ON r.id = t.id LEFT JOIN regions p ON p.id = r.parent_id ORDER BY r.id");
                sql.fetch_all(&self.reader).await?
            }
            (Some(cells), None) => {
                // PostgreSQL: LATERAL over the cells and levels, passed as text (the Any driver
                // binds no arrays) so the statement's text, and its cached plan, fit every box.
                let mut sql = self.sql(&format!("SELECT {REGION_COLUMNS}{REGION_FROM} WHERE r.id IN (SELECT x.id FROM unnest(string_to_array("));
                sql.arg(int_list(cells.iter().copied())).push(", ',')::bigint[]) AS c (cell) CROSS JOIN unnest(string_to_array(");
                sql.arg(int_list(levels.iter().copied())).push(", ',')::int[]) AS l (level_no) CROSS JOIN LATERAL (");
                self.push_cell_visit(&mut sql, filter, parent_id, subtree, after, want, |sql| {
                    sql.push(" AND r.cell = c.cell AND r.level_no = l.level_no");
                });
                sql.push(") x ORDER BY x.id LIMIT ").arg(want).push(") ORDER BY r.id");
                sql.fetch_all(&self.reader).await?
            }
            // SQLite, larger boxes: candidate ids from the R*Tree in id order, a growing chunk at
            // a time, then the rows among them that pass every filter; a chunk the filters empty
            // is followed by the next, so a selective filter costs a few rounds, not a read of
            // every match.
            (None, Some(rtree)) => {
                let boxes = spatial_boxes(&filter.spatial);
                let (mut cursor, mut chunk, mut found) = (after, want * 2, Vec::new());
                loop {
                    let mut ids = self.sql(&format!("SELECT id FROM {rtree} WHERE id > "));
                    ids.arg(cursor);
                    self.dialect.push_spatial_candidates(&mut ids, &boxes, level);
                    ids.push(" ORDER BY id LIMIT ").arg(chunk);
                    let ids: Vec<i64> = ids.fetch_all(&self.reader).await?.iter().map(|row| row_get(row, "id")).collect::<Result<_>>()?;
                    let Some(&last) = ids.last() else { break };
                    // CROSS JOIN keeps the candidates the outer loop: left to itself, the planner
                    // may walk the level index through a million dwellings testing membership.
                    let mut sql = self.sql(&format!("SELECT {REGION_COLUMNS} FROM (SELECT value AS id FROM json_each("));
                    sql.arg(serde_json::to_string(&ids).expect("ids serialize"));
                    sql.push(")) t CROSS JOIN regions r ON r.id = t.id LEFT JOIN regions p ON p.id = r.parent_id WHERE 1 = 1");
                    self.push_region_filters(&mut sql, filter, parent_id, false);
                    push_path_range(&mut sql, "r.path", subtree.clone());
                    sql.push(" ORDER BY r.id LIMIT ").arg(want - found.len() as i64);
                    found.extend(sql.fetch_all(&self.reader).await?);
                    if found.len() as i64 >= want || (ids.len() as i64) < chunk {
                        break;
                    }
                    (cursor, chunk) = (last, (chunk * 8).min(20_000));
                }
                found
            }
            // PostgreSQL, larger boxes: the matches' ids from the latitude bands (or SP-GiST),
            // sorted, and full rows fetched for the page alone; `+ 0` keeps the planner off
            // walking the primary key in id order through a sparse box.
            (None, None) => {
                let mut sql = self.sql(&format!("SELECT {REGION_COLUMNS}{REGION_FROM} WHERE r.id IN (SELECT r.id FROM regions r WHERE r.id > "));
                sql.arg(after);
                self.push_region_filters(&mut sql, filter, parent_id, false);
                push_path_range(&mut sql, "r.path", subtree);
                sql.push(" ORDER BY r.id + 0 LIMIT ").arg(want).push(") ORDER BY r.id");
                // How many rows a large box matches varies: plan with its corners in hand.
                sql.plan_each_time();
                sql.fetch_all(&self.reader).await?
            }
        };
        let items = found.iter().map(|row| region_from_row(row).map(|(k, r)| (k.id.to_string(), r))).collect::<Result<Vec<_>>>()?;
        Ok(into_page(items, page))
    }

    /// One visit of a cell (and level, as `place` says): the first `want` ids after `after`
    /// there that pass every filter, in id order, from the `(cell, level_no, id)` index.
    #[allow(clippy::too_many_arguments)]
    fn push_cell_visit(
        &self,
        sql: &mut Sql,
        filter: &RegionFilter,
        parent_id: Option<i64>,
        subtree: Option<(String, String)>,
        after: i64,
        want: i64,
        place: impl FnOnce(&mut Sql),
    ) {
        sql.push(&format!("SELECT r.id FROM regions r{} WHERE r.lon IS NOT NULL", self.dialect.use_index("regions_cell")));
        place(sql);
        sql.push(" AND r.id > ").arg(after);
        self.push_region_filters(sql, filter, parent_id, true);
        push_path_range(sql, "r.path", subtree);
        sql.push(" ORDER BY r.id LIMIT ").arg(want);
    }

    /// The filters every region list shares (alias `r`): parent, level, name or code substring,
    /// and the exact spatial predicates (`in_cells`: the query visits the box's cells itself).
    fn push_region_filters(&self, sql: &mut Sql, filter: &RegionFilter, parent_id: Option<i64>, in_cells: bool) {
        if let Some(parent_id) = parent_id {
            sql.push(" AND r.parent_id = ").arg(parent_id);
        }
        // A cell visit names its level_no itself; elsewhere PostgreSQL's spatial predicate does.
        let spatial = !spatial_boxes(&filter.spatial).is_empty();
        let level_held = in_cells || (spatial && self.dialect.spatial_predicate_holds_level());
        if let Some(level) = filter.level.filter(|_| !level_held) {
            sql.push(" AND r.level = ").arg(level.as_str());
        }
        if let Some(q) = &filter.q {
            let pattern = like_pattern(q);
            let like = self.dialect.case_insensitive_like();
            // A term too short for trigrams would make PostgreSQL walk its whole trigram index:
            // `|| ''` hides the columns from it, so such a term scans the table instead.
            let (name, code) = if self.dialect.trigrams_serve(q) { ("r.name", "r.code") } else { ("(r.name || '')", "(r.code || '')") };
            sql.push(&format!(" AND ({name} {like} ")).arg(pattern.clone()).push(&format!(" ESCAPE '\\' OR {code} {like} ")).arg(pattern).push(" ESCAPE '\\')");
        }
        push_spatial_where(sql, self.dialect, "r", &filter.spatial, SpatialRows::Regions { level: filter.level.map(Level::ordinal), in_cells });
    }

    /// Reserves `count` ids for new rows of `table` inside the writing transaction.
    pub(crate) async fn reserve_ids(&self, tx: &mut sqlx::Transaction<'_, sqlx::Any>, table: &str, count: usize) -> Result<Vec<i64>> {
        let (query, from_max) = self.dialect.reserve_ids_sql(table, count);
        let rows = self.sql(&query).fetch_all(&mut **tx).await?;
        if from_max {
            let max: i64 = rows.first().map(|r| row_get(r, "id")).transpose()?.unwrap_or(0);
            return Ok((1..=count as i64).map(|n| max + n).collect());
        }
        rows.iter().map(|r| row_get(r, "id")).collect()
    }

    pub(crate) async fn region_ancestors_impl(&self, scope: &Jurisdiction, code: &str) -> Result<Vec<Region>> {
        let (key, region) = self.region_row(&self.reader, code).await?;
        if !scope.covers_path(&key.path) {
            return Err(StoreError::out_of_scope("region", code));
        }
        let ids: Vec<i64> = key.path.split('/').filter_map(|s| s.parse().ok()).filter(|id| *id != key.id).collect();
        let mut chain = Vec::with_capacity(ids.len() + 1);
        if !ids.is_empty() {
            let mut sql = self.sql(&format!("SELECT {REGION_COLUMNS}{REGION_FROM} WHERE r.id IN "));
            sql.tuple(ids.iter().map(|id| (*id).into()));
            let rows = sql.fetch_all(&self.reader).await?;
            let mut found: Vec<(RegionKey, Region)> = rows.iter().map(region_from_row).collect::<Result<_>>()?;
            found.sort_by_key(|(k, _)| k.path.len());
            // Nodes above the jurisdiction are not the caller's to read.
            chain.extend(found.into_iter().filter(|(k, _)| scope.covers_path(&k.path)).map(|(_, r)| r));
        }
        chain.push(region);
        Ok(chain)
    }
}

pub(crate) const REGION_INSERT_COLUMNS: &str = "id, code, level, level_no, name, parent_id, path, geometry, lon, lat, attributes, updated_at";

/// The column values of one new region, in the order of [`REGION_INSERT_COLUMNS`].
pub(crate) fn region_values(new: &NewRegion, id: i64, parent_id: Option<i64>, path: String, position: Option<Position>, now: i64) -> Vec<super::Arg> {
    vec![
        id.into(),
        new.code.clone().into(),
        new.level.as_str().into(),
        new.level.ordinal().into(),
        new.name.clone().into(),
        parent_id.into(),
        path.into(),
        new.geometry.as_ref().map(|g| g.0.to_string()).into(),
        position.map(|p| p.lon).into(),
        position.map(|p| p.lat).into(),
        serde_json::Value::Object(new.attributes.clone()).to_string().into(),
        now.into(),
    ]
}
