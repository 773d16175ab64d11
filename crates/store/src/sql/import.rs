//! Bulk import: one transaction per batch, every reference checked first, every bad row reported.
use std::collections::{HashMap, HashSet};

use linli_domain::governance::{order::HistoryEntry, UnitKind, WorkOrder};
use linli_domain::{device::NewDevice, organisation::NewOrganisation, region::NewRegion, Level, NewResident, Position};

use super::devices::{device_values, DEVICE_INSERT_COLUMNS};
use super::orders::order_columns;
use super::organisations::{organisation_values, ORG_INSERT_COLUMNS};
use super::records::to_doc;
use super::regions::{region_values, REGION_INSERT_COLUMNS};
use super::residents::{resident_values, RESIDENT_INSERT_COLUMNS};
use super::{now_ms, row_get, Arg, SqlStore};
use crate::error::{RowError, StoreError};
use crate::model::{effective_position, ImportBatch, ImportSummary, ImportedOrder, Jurisdiction};
use crate::Result;

/// Imports at least this large refresh the planner's statistics afterwards.
const REFRESH_STATISTICS_AFTER: u64 = 10_000;
/// Codes per `IN (…)` look-up.
const CODES_PER_LOOKUP: usize = 500;

type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

/// A node already stored or just inserted, as import needs it.
#[derive(Debug, Clone)]
struct Node {
    id: i64,
    level: Level,
    path: String,
    position: Option<Position>,
}

fn row_error(row: usize, field: &str, message: impl Into<String>) -> RowError {
    RowError { row, field: field.to_string(), message: message.into() }
}

impl SqlStore {
    /// Checks every row and, unless `dry_run`, writes them all in one transaction.
    pub(crate) async fn import_impl(&self, scope: &Jurisdiction, batch: &ImportBatch, dry_run: bool) -> Result<ImportSummary> {
        let mut tx = self.begin_write(false).await?;
        let inserted = match batch {
            ImportBatch::Regions(rows) => self.import_regions(&mut tx, scope, rows, dry_run).await?,
            ImportBatch::Residents(rows) => self.import_residents(&mut tx, scope, rows, dry_run).await?,
            ImportBatch::Organisations(rows) => self.import_organisations(&mut tx, scope, rows, dry_run).await?,
            ImportBatch::Devices(rows) => self.import_devices(&mut tx, scope, rows, dry_run).await?,
            ImportBatch::Orders(rows) => self.import_orders(&mut tx, scope, rows, dry_run).await?,
        };
        if dry_run {
            tx.rollback().await?;
            return Ok(ImportSummary { inserted });
        }
        tx.commit().await?;
        if inserted >= REFRESH_STATISTICS_AFTER {
            // Fresh statistics let the planners pick the path indexes for jurisdiction queries.
            let table = match batch {
                ImportBatch::Regions(_) => "regions",
                ImportBatch::Residents(_) => "residents",
                ImportBatch::Organisations(_) => "organisations",
                ImportBatch::Devices(_) => "devices",
                ImportBatch::Orders(_) => "orders",
            };
            // The import is committed: a failure here only costs query plans, so it is logged.
            if let Err(error) = self.sql(&self.dialect.analyze_sql(table)).execute(&self.writer).await {
                tracing::warn!(%error, table, "refreshing statistics after import failed");
            }
        }
        Ok(ImportSummary { inserted })
    }

    /// Stored regions by code, for the given codes.
    async fn nodes_by_code(&self, tx: &mut Tx<'_>, codes: &[&str]) -> Result<HashMap<String, Node>> {
        let mut found = HashMap::new();
        for chunk in codes.chunks(CODES_PER_LOOKUP) {
            let mut sql = self.sql("SELECT id, code, level, path, lon, lat FROM regions WHERE code IN ");
            sql.tuple(chunk.iter().map(|c| Arg::from(*c)));
            for row in sql.fetch_all(&mut **tx).await? {
                let id: i64 = row_get(&row, "id")?;

                let level: String = row_get(&row, "level")?;
                let lon: Option<f64> = row_get(&row, "lon")?;
                let lat: Option<f64> = row_get(&row, "lat")?;
                let node = Node {
                    id,
                    level: Level::parse("level", &level).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    path: row_get(&row, "path")?,
                    position: lon.zip(lat).map(|(lon, lat)| Position { lon, lat }),
                };
                found.insert(row_get(&row, "code")?, node);
            }
        }
        Ok(found)
    }

    /// Stored regions for the distinct codes a batch refers to.
    async fn referenced_nodes<'a>(&self, tx: &mut Tx<'_>, codes: impl Iterator<Item = &'a str>) -> Result<HashMap<String, Node>> {
        let distinct: Vec<&str> = codes.collect::<HashSet<_>>().into_iter().collect();
        self.nodes_by_code(tx, &distinct).await
    }

    /// Stored organisations (id and the path of the region they serve) for the distinct codes given.
    async fn referenced_organisations<'a>(&self, tx: &mut Tx<'_>, codes: impl Iterator<Item = &'a str>) -> Result<HashMap<String, (i64, String)>> {
        let distinct: Vec<&str> = codes.collect::<HashSet<_>>().into_iter().collect();
        let mut found = HashMap::new();
        for chunk in distinct.chunks(CODES_PER_LOOKUP) {
            let mut sql = self.sql("SELECT id, code, region_path FROM organisations WHERE code IN ");
            sql.tuple(chunk.iter().map(|c| Arg::from(*c)));
            for row in sql.fetch_all(&mut **tx).await? {
                found.insert(row_get(&row, "code")?, (row_get(&row, "id")?, row_get(&row, "region_path")?));
            }
        }
        Ok(found)
    }

    /// Checks that each row's key (`table.column`) is new: neither repeated in the batch nor
    /// already stored. `reveal` puts the key in the message (not for personal data).
    async fn check_new_keys<'a>(
        &self,
        tx: &mut Tx<'_>,
        (table, column): (&str, &str),
        keys: impl Iterator<Item = (usize, &'a str)>,
        reveal: bool,
        errors: &mut Vec<RowError>,
    ) -> Result<()> {
        let name = |key: &str| if reveal { format!("{column} {key:?}") } else { column.replace('_', " ") };
        let mut first_rows: HashMap<&str, usize> = HashMap::new();
        for (row, key) in keys {
            if let Some(first) = first_rows.insert(key, row) {
                first_rows.insert(key, first);
                errors.push(row_error(row, column, format!("{} appears again (first on row {first})", name(key))));
            }
        }
        let distinct: Vec<&str> = first_rows.keys().copied().collect();
        for key in self.existing(tx, table, column, &distinct).await? {
            errors.push(row_error(first_rows[key.as_str()], column, format!("{} already exists", name(&key))));
        }
        Ok(())
    }

    /// Which of `values` already exist in `table.column`.
    async fn existing(&self, tx: &mut Tx<'_>, table: &str, column: &str, values: &[&str]) -> Result<HashSet<String>> {
        let mut found = HashSet::new();
        for chunk in values.chunks(CODES_PER_LOOKUP) {
            let mut sql = self.sql(&format!("SELECT {column} AS v FROM {table} WHERE {column} IN "));
            sql.tuple(chunk.iter().map(|c| Arg::from(*c)));
            for row in sql.fetch_all(&mut **tx).await? {
                found.insert(row_get(&row, "v")?);
            }
        }
        Ok(found)
    }

    async fn import_regions(&self, tx: &mut Tx<'_>, scope: &Jurisdiction, rows: &[(usize, NewRegion)], dry_run: bool) -> Result<u64> {
        let mut errors = Vec::new();
        self.check_new_keys(tx, ("regions", "code"), rows.iter().map(|(row, r)| (*row, r.code.as_str())), true, &mut errors).await?;
        let in_batch: HashMap<&str, &NewRegion> = rows.iter().map(|(_, r)| (r.code.as_str(), r)).collect();
        for (row, region) in rows {
            if let Some(cycle) = find_cycle(&region.code, |code| in_batch.get(code).and_then(|r| r.parent_code.as_deref())) {
                errors.push(row_error(*row, "parent_code", format!("cycle in the hierarchy: {cycle}")));
            }
        }
        let outside: Vec<&str> =
            rows.iter().filter_map(|(_, r)| r.parent_code.as_deref()).filter(|p| !in_batch.contains_key(p)).collect::<HashSet<_>>().into_iter().collect();
        let mut stored = self.nodes_by_code(tx, &outside).await?;
        for (row, region) in rows {
            let Some(parent_code) = &region.parent_code else {
                if scope.root.is_some() {
                    errors.push(row_error(*row, "parent_code", "only an administrator bound to no node may import top-level regions"));
                }
                continue;
            };
            let parent_level = match (in_batch.get(parent_code.as_str()), stored.get(parent_code)) {
                (Some(parent), _) => parent.level,
                (None, Some(node)) => {
                    if !scope.covers_path(&node.path) {
                        errors.push(row_error(*row, "parent_code", format!("parent {parent_code:?} is outside your jurisdiction")));
                    }
                    node.level
                }
                (None, None) => {
                    errors.push(row_error(*row, "parent_code", format!("parent {parent_code:?} exists neither in the file nor in the registry")));
                    continue;
                }
            };
            if let Err(e) = region.level.check_parent(parent_level) {
                errors.push(row_error(*row, "level", e.message));
            }
        }
        fail_on(errors)?;
        if dry_run {
            return Ok(0);
        }

        // Parents rank strictly above children, so inserting by rank inserts parents first; ids are
        // reserved up front because each path ends with the node's own id.
        let mut order: Vec<&(usize, NewRegion)> = rows.iter().collect();
        order.sort_by_key(|(row, r)| (r.level.rank(), *row));
        let ids = self.reserve_ids(tx, "regions", order.len()).await?;
        let now = now_ms();
        let mut values = Vec::with_capacity(order.len());
        for ((_, region), id) in order.into_iter().zip(ids) {
            let parent = region.parent_code.as_ref().and_then(|p| stored.get(p));
            let path = parent.map_or_else(|| format!("/{id}/"), |p| format!("{}{id}/", p.path));
            let position = effective_position(region.geometry.as_ref(), parent.and_then(|p| p.position));
            values.push(region_values(region, id, parent.map(|p| p.id), path.clone(), position, now));
            stored.insert(region.code.clone(), Node { id, level: region.level, path, position });
        }
        self.insert_rows(tx, &format!("INSERT INTO regions ({REGION_INSERT_COLUMNS}) VALUES "), values, "").await?;
        Ok(rows.len() as u64)
    }

    async fn import_residents(&self, tx: &mut Tx<'_>, scope: &Jurisdiction, rows: &[(usize, NewResident)], dry_run: bool) -> Result<u64> {
        let mut errors = Vec::new();
        // ID numbers are personal data: errors name the row, never the number.
        let id_numbers = rows.iter().filter_map(|(row, r)| r.id_number.as_deref().map(|id| (*row, id)));
        self.check_new_keys(tx, ("residents", "id_number"), id_numbers, false, &mut errors).await?;
        let nodes = self.referenced_nodes(tx, rows.iter().map(|(_, r)| r.home_code.as_str())).await?;
        for (row, resident) in rows {
            check_region(&mut errors, scope, &nodes, *row, "dwelling_code", &resident.home_code);
        }
        fail_on(errors)?;
        if dry_run {
            return Ok(0);
        }
        let now = now_ms();
        let values = rows
            .iter()
            .map(|(_, r)| {
                let node = &nodes[&r.home_code];
                resident_values(r, node.id, node.path.clone(), now)
            })
            .collect();
        self.insert_rows(tx, &format!("INSERT INTO residents ({RESIDENT_INSERT_COLUMNS}) VALUES "), values, "").await?;
        Ok(rows.len() as u64)
    }

    async fn import_organisations(&self, tx: &mut Tx<'_>, scope: &Jurisdiction, rows: &[(usize, NewOrganisation)], dry_run: bool) -> Result<u64> {
        let mut errors = Vec::new();
        self.check_new_keys(tx, ("organisations", "code"), rows.iter().map(|(row, o)| (*row, o.code.as_str())), true, &mut errors).await?;
        let in_batch: HashMap<&str, &NewOrganisation> = rows.iter().map(|(_, o)| (o.code.as_str(), o)).collect();
        for (row, org) in rows {
            if let Some(cycle) = find_cycle(&org.code, |code| in_batch.get(code).and_then(|o| o.parent_code.as_deref())) {
                errors.push(row_error(*row, "parent_code", format!("cycle among organisations: {cycle}")));
            }
        }
        let outside_parents = rows.iter().filter_map(|(_, o)| o.parent_code.as_deref()).filter(|p| !in_batch.contains_key(p));
        let stored_parents = self.referenced_organisations(tx, outside_parents).await?;
        let nodes = self.referenced_nodes(tx, rows.iter().map(|(_, o)| o.region_code.as_str())).await?;
        for (row, org) in rows {
            check_region(&mut errors, scope, &nodes, *row, "region_code", &org.region_code);
            if let Some(parent) = org.parent_code.as_deref().filter(|p| !in_batch.contains_key(p)) {
                check_organisation(&mut errors, scope, &stored_parents, *row, "parent_code", parent);
            }
        }
        fail_on(errors)?;
        if dry_run {
            return Ok(0);
        }
        let now = now_ms();
        let values = rows
            .iter()
            .map(|(_, o)| {
                let node = &nodes[&o.region_code];
                organisation_values(o, node.id, node.path.clone(), None, now)
            })
            .collect();
        self.insert_rows(tx, &format!("INSERT INTO organisations ({ORG_INSERT_COLUMNS}) VALUES "), values, "").await?;
        for (_, org) in rows.iter().filter(|(_, o)| o.parent_code.is_some()) {
            let mut sql = self.sql("UPDATE organisations SET parent_id = (SELECT id FROM organisations WHERE code = ");
            sql.arg(org.parent_code.clone()).push(") WHERE code = ").arg(&org.code);
            sql.execute(&mut **tx).await?;
        }
        Ok(rows.len() as u64)
    }

    async fn import_devices(&self, tx: &mut Tx<'_>, scope: &Jurisdiction, rows: &[(usize, NewDevice)], dry_run: bool) -> Result<u64> {
        let mut errors = Vec::new();
        self.check_new_keys(tx, ("devices", "code"), rows.iter().map(|(row, d)| (*row, d.code.as_str())), true, &mut errors).await?;
        let nodes = self.referenced_nodes(tx, rows.iter().map(|(_, d)| d.region_code.as_str())).await?;
        let owners = self.referenced_organisations(tx, rows.iter().filter_map(|(_, d)| d.owner_org_code.as_deref())).await?;
        for (row, device) in rows {
            check_region(&mut errors, scope, &nodes, *row, "region_code", &device.region_code);
            if let Some(owner) = &device.owner_org_code {
                check_organisation(&mut errors, scope, &owners, *row, "owner_org_code", owner);
            }
        }
        fail_on(errors)?;
        if dry_run {
            return Ok(0);
        }
        let now = now_ms();
        let values = rows
            .iter()
            .map(|(_, d)| {
                let node = &nodes[&d.region_code];
                let owner = d.owner_org_code.as_ref().map(|o| owners[o].0);
                device_values(d, node.id, node.path.clone(), d.position.or(node.position), owner, now)
            })
            .collect();
        self.insert_rows(tx, &format!("INSERT INTO devices ({DEVICE_INSERT_COLUMNS}) VALUES "), values, "").await?;
        Ok(rows.len() as u64)
    }

    async fn import_orders(&self, tx: &mut Tx<'_>, scope: &Jurisdiction, rows: &[(usize, ImportedOrder)], dry_run: bool) -> Result<u64> {
        let mut errors = Vec::new();
        // Collected first: iterator adaptors held across an await make the future's lifetimes unprovable.
        let mut regions = Vec::new();
        let mut organisations = Vec::new();
        for (_, imported) in rows {
            regions.push(imported.order.region_code.as_str());
            regions.extend(units_of(imported, UnitKind::Region));
            organisations.extend(units_of(imported, UnitKind::Organisation));
        }
        let nodes = self.referenced_nodes(tx, regions.into_iter()).await?;
        let orgs = self.referenced_organisations(tx, organisations.into_iter()).await?;
        for (row, imported) in rows {
            check_region(&mut errors, scope, &nodes, *row, "region_code", &imported.order.region_code);
            // Units anywhere may have held an order (a city department), so only their existence is checked.
            for code in units_of(imported, UnitKind::Region) {
                if !nodes.contains_key(code) {
                    errors.push(row_error(*row, "chain", format!("unknown region {code:?}")));
                }
            }
            for code in units_of(imported, UnitKind::Organisation) {
                if !orgs.contains_key(code) {
                    errors.push(row_error(*row, "chain", format!("unknown organisation {code:?}")));
                }
            }
            if let Some(late) = imported.history.windows(2).position(|pair| pair[1].at < pair[0].at) {
                errors.push(row_error(*row, "history", format!("entry {} is earlier than the one before it", late + 2)));
            }
        }
        fail_on(errors)?;
        if dry_run || rows.is_empty() {
            return Ok(0);
        }
        let ids = self.reserve_ids(tx, "orders", rows.len()).await?;
        let mut head = None;
        let mut values = Vec::with_capacity(rows.len());
        let mut history = Vec::new();
        for ((_, imported), id) in rows.iter().zip(ids) {
            let path = &nodes[&imported.order.region_code].path;
            let columns = order_columns(&WorkOrder { id, ..imported.order.clone() }, path);
            head.get_or_insert_with(|| columns.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", "));
            values.push(std::iter::once(Arg::from(id)).chain(columns.into_iter().map(|(_, value)| value)).collect());
            for (seq, entry) in (1..).zip(&imported.history) {
                let entry = HistoryEntry { seq, ..entry.clone() };
                history.push(vec!["order".into(), id.into(), seq.into(), entry.at.into(), to_doc(&entry).into()]);
            }
        }
        let head = head.unwrap_or_default();
        self.insert_rows(tx, &format!("INSERT INTO orders (id, {head}) VALUES "), values, "").await?;
        self.insert_rows(tx, "INSERT INTO history (subject, subject_id, seq, at, doc) VALUES ", history, "").await?;
        Ok(rows.len() as u64)
    }
}

/// The codes of the units of one kind an imported order names: its holder, chain and escalation.
fn units_of(imported: &ImportedOrder, kind: UnitKind) -> impl Iterator<Item = &str> {
    let order = &imported.order;
    std::iter::once(&order.holder).chain(&order.chain).chain(&order.escalated_to).filter(move |u| u.kind == kind).map(|u| u.code.as_str())
}

/// Follows parent links from `start`; the chain `a → b → a` when it comes back to a code it passed.
fn find_cycle<'a>(start: &'a str, parent_of: impl Fn(&str) -> Option<&'a str>) -> Option<String> {
    let mut seen = vec![start];
    let mut next = parent_of(start);
    while let Some(code) = next {
        seen.push(code);
        if seen[..seen.len() - 1].contains(&code) {
            return Some(seen.join(" → "));
        }
        next = parent_of(code);
    }
    None
}

/// Checks a row's reference to a region: it exists and lies inside the jurisdiction.
fn check_region(errors: &mut Vec<RowError>, scope: &Jurisdiction, nodes: &HashMap<String, Node>, row: usize, field: &str, code: &str) {
    match nodes.get(code) {
        None => errors.push(row_error(row, field, format!("region {code:?} does not exist"))),
        Some(node) if !scope.covers_path(&node.path) => errors.push(row_error(row, field, format!("region {code:?} is outside your jurisdiction"))),
        Some(_) => {}
    }
}

/// Checks a row's reference to an organisation: it exists and is visible in the jurisdiction.
fn check_organisation(errors: &mut Vec<RowError>, scope: &Jurisdiction, orgs: &HashMap<String, (i64, String)>, row: usize, field: &str, code: &str) {
    match orgs.get(code) {
        None => errors.push(row_error(row, field, format!("organisation {code:?} exists neither in the file nor in the registry"))),
        Some((_, path)) if !super::organisations::visible(scope, path) => {
            errors.push(row_error(row, field, format!("organisation {code:?} is outside your jurisdiction")))
        }
        Some(_) => {}
    }
}

fn fail_on(mut errors: Vec<RowError>) -> Result<()> {
    if errors.is_empty() {
        return Ok(());
    }
    errors.sort_by(|a, b| a.row.cmp(&b.row).then_with(|| a.field.cmp(&b.field)));
    errors.dedup();
    Err(StoreError::Import(errors))
}
