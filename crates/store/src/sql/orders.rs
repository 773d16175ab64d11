//! Work orders: creation, atomic changes with optimistic concurrency, lists, the deadline sweep's
//! index and the counts behind the three rates.
use linli_domain::governance::order::HistoryEntry;
use linli_domain::governance::rates::RateCounts;
use linli_domain::governance::{UnitKind, WorkOrder};
use sqlx::any::AnyRow;

use super::records::{flag, from_doc, to_doc, Tx};
use super::{into_page, push_page_desc, push_path_range, row_get, Arg, SqlStore};
use crate::error::StoreError;
use crate::governance::{Decide, OrderFilter, RateQuery};
use crate::model::{prefix_range, Jurisdiction, Page, PageRequest};
use crate::Result;

const DAY_MS: i64 = 86_400_000;
/// Periods up to this many days name their days to the rates index (see `rate_counts_impl`).
const MAX_RATE_DAYS: usize = 1_000;

fn order_from_row(row: &AnyRow) -> Result<(WorkOrder, String)> {
    let mut order: WorkOrder = from_doc(row, "doc")?;
    order.id = row_get(row, "id")?;
    order.version = row_get(row, "version")?;
    Ok((order, row_get(row, "region_path")?))
}

/// The columns copied out of an order for queries; see the migration's note.
pub(super) fn order_columns(order: &WorkOrder, region_path: &str) -> Vec<(&'static str, Arg)> {
    let handler_org = order.handler_org_code.clone().or_else(|| (order.holder.kind == UnitKind::Organisation).then(|| order.holder.code.clone()));
    vec![
        ("version", order.version.into()),
        ("status", order.status.as_str().into()),
        ("category", order.category.as_str().into()),
        ("source", order.source.as_str().into()),
        ("proactive", flag(order.proactive).into()),
        ("region_path", region_path.into()),
        ("holder_key", order.holder.key().into()),
        ("escalated_key", order.escalated_to.as_ref().map(|u| u.key()).into()),
        ("handler_org", handler_org.into()),
        ("supervised", flag(order.supervised).into()),
        ("overdue", flag(order.overdue).into()),
        ("created_at", order.created_at.into()),
        ("response_due_at", order.response_due_at.into()),
        ("responded_at", order.responded_at.into()),
        ("resolve_due_at", order.resolve_due_at.into()),
        ("closed_at", order.closed_at.into()),
        ("callback_solved", order.callback.as_ref().map(|c| flag(c.solved)).into()),
        ("satisfaction", order.callback.as_ref().map(|c| c.satisfaction.as_str()).into()),
        ("next_check_at", order.next_check_at.into()),
        ("incident_id", order.incident_id.into()),
        ("requester_id", order.requester.user_id.into()),
        ("doc", to_doc(order).into()),
    ]
}

/// The outbox message of an order change.
pub(crate) fn order_message(order: &WorkOrder, entry: &HistoryEntry) -> serde_json::Value {
    serde_json::json!({ "order": order, "entry": entry })
}

impl SqlStore {
    /// Inserts an order and its first history entries; returns it with its id.
    pub(crate) async fn insert_order(&self, tx: &mut Tx, order: &WorkOrder, region_path: &str, entries: &[HistoryEntry]) -> Result<WorkOrder> {
        let id = self.insert_returning_id(tx, "orders", &order_columns(order, region_path)).await?;
        let order = WorkOrder { id, ..order.clone() };
        let entries = self.append_history(tx, "order", id, entries).await?;
        if let Some(last) = entries.last() {
            self.push_outbox(tx, last.at, "order.created", &order_message(&order, last)).await?;
        }
        Ok(order)
    }

    pub(crate) async fn order_row(&self, conn: &mut sqlx::AnyConnection, id: i64, lock: bool) -> Result<(WorkOrder, String)> {
        let mut sql = self.sql("SELECT id, version, region_path, doc FROM orders WHERE id = ");
        sql.arg(id);
        if lock {
            sql.push(self.dialect.for_update());
        }
        let row = sql.fetch_optional(&mut *conn).await?.ok_or_else(|| StoreError::not_found("order", id))?;
        order_from_row(&row)
    }

    /// Writes a changed order if its version is still `expected`.
    pub(crate) async fn write_order(&self, tx: &mut Tx, order: &WorkOrder, region_path: &str, expected: i64) -> Result<()> {
        let changed = self.update_columns(tx, "orders", order.id, Some(expected), &order_columns(order, region_path)).await?;
        if changed == 0 {
            return Err(StoreError::Stale { kind: "order", key: order.id.to_string(), current: expected });
        }
        // An order that is over closes its incident to further merging.
        if order.status.is_final() {
            if let Some(incident) = order.incident_id {
                let mut sql = self.sql("UPDATE incidents SET open = 0 WHERE id = ");
                sql.arg(incident);
                sql.execute(&mut **tx).await?;
            }
        }
        Ok(())
    }

    pub(crate) async fn create_order_impl(&self, scope: &Jurisdiction, order: &WorkOrder, entries: &[HistoryEntry], key: Option<&str>) -> Result<WorkOrder> {
        let mut tx = self.begin_outbox_write().await?;
        if let Some(id) = self.idempotent_subject(&mut tx, key, "order").await? {
            return Ok(self.order_row(&mut tx, id, false).await?.0);
        }
        let region = self.referenced_region(&mut *tx, scope, "region_code", &order.region_code).await?;
        let order = self.insert_order(&mut tx, order, &region.path, entries).await?;
        self.remember_idempotency(&mut tx, key, "order", order.id, order.created_at).await?;
        tx.commit().await?;
        Ok(order)
    }

    pub(crate) async fn get_order_impl(&self, scope: &Jurisdiction, id: i64) -> Result<(WorkOrder, bool)> {
        let (order, path) = self.order_row(&mut *self.reader.acquire().await?, id, false).await?;
        Ok((order, scope.covers_path(&path)))
    }

    pub(crate) async fn update_order_impl(
        &self,
        scope: &Jurisdiction,
        id: i64,
        expected: Option<i64>,
        decide: Decide<'_, WorkOrder>,
    ) -> Result<(WorkOrder, Vec<HistoryEntry>)> {
        let mut tx = self.begin_outbox_write().await?;
        let (current, path) = self.order_row(&mut tx, id, true).await?;
        if let Some(expected) = expected {
            if expected != current.version {
                return Err(StoreError::Stale { kind: "order", key: id.to_string(), current: current.version });
            }
        }
        let (next, entries) = decide(&current, scope.covers_path(&path))?;
        let next = WorkOrder { id, version: current.version + 1, ..next };
        self.write_order(&mut tx, &next, &path, current.version).await?;
        let entries = self.append_history(&mut tx, "order", id, &entries).await?;
        for entry in &entries {
            self.push_outbox(&mut tx, entry.at, &format!("order.{}", entry.action), &order_message(&next, entry)).await?;
        }
        tx.commit().await?;
        Ok((next, entries))
    }

    pub(crate) async fn list_orders_impl(&self, scope: &Jurisdiction, filter: &OrderFilter, page: &PageRequest) -> Result<Page<WorkOrder>> {
        let subtree = match &filter.within_code {
            Some(within) => Some(prefix_range(&self.referenced_region(&self.reader, scope, "within", within).await?.path)),
            None => scope.path_range(),
        };
        let mut sql = self.sql("SELECT id, version, region_path, doc FROM orders WHERE 1 = 1");
        push_path_range(&mut sql, "region_path", subtree);
        if !filter.statuses.is_empty() {
            sql.push(" AND status IN ").tuple(filter.statuses.iter().map(|s| Arg::from(s.as_str())));
        }
        for (column, value) in
            [("holder_key", &filter.holder_key), ("escalated_key", &filter.escalated_key), ("category", &filter.category), ("source", &filter.source)]
        {
            if let Some(value) = value {
                sql.push(&format!(" AND {column} = ")).arg(value.as_str());
            }
        }
        for (column, value) in [("proactive", filter.proactive), ("overdue", filter.overdue), ("supervised", filter.supervised)] {
            if let Some(value) = value {
                sql.push(&format!(" AND {column} = ")).arg(flag(value));
            }
        }
        if let Some(requester) = filter.requester_id {
            sql.push(" AND requester_id = ").arg(requester);
        }
        if let Some(from) = filter.created_from {
            sql.push(" AND created_at >= ").arg(from);
        }
        if let Some(to) = filter.created_to {
            sql.push(" AND created_at < ").arg(to);
        }
        push_page_desc(&mut sql, "id", page)?;
        let rows = sql.fetch_all(&self.reader).await?;
        let items = rows.iter().map(|row| order_from_row(row).map(|(o, _)| (o.id.to_string(), o))).collect::<Result<Vec<_>>>()?;
        Ok(into_page(items, page))
    }

    pub(crate) async fn orders_due_for_check_impl(&self, now: i64, limit: u32) -> Result<Vec<i64>> {
        let mut sql = self.sql("SELECT id FROM orders WHERE next_check_at IS NOT NULL AND next_check_at <= ");
        sql.arg(now).push(" ORDER BY next_check_at LIMIT ").arg(i64::from(limit));
        sql.fetch_all(&self.reader).await?.iter().map(|row| row_get(row, "id")).collect()
    }

    pub(crate) async fn rate_counts_impl(&self, scope: &Jurisdiction, query: &RateQuery) -> Result<RateCounts> {
        let subtree = match &query.within_code {
            Some(within) => Some(prefix_range(&self.referenced_region(&self.reader, scope, "region", within).await?.path)),
            None => scope.path_range(),
        };
        let now = query.now;
        let mut sql = self.sql("SELECT COUNT(*) AS orders");
        let mut count = |name: &str, condition: &str, args: &[i64]| {
            sql.push(", COUNT(*) FILTER (WHERE ");
            let mut parts = condition.split('?');
            sql.push(parts.next().unwrap_or(""));
            for (arg, part) in args.iter().zip(parts) {
                sql.arg(*arg).push(part);
            }
            sql.push(&format!(") AS {name}"));
        };
        count("proactive", "proactive = 1", &[]);
        count("due", "responded_at IS NOT NULL OR response_due_at < ?", &[now]);
        count("responded_on_time", "responded_at <= response_due_at", &[]);
        count("responded_late", "responded_at > response_due_at", &[]);
        count("not_responded", "responded_at IS NULL AND response_due_at < ?", &[now]);
        count("called_back", "callback_solved IS NOT NULL", &[]);
        count("solved", "callback_solved = 1", &[]);
        count("satisfied", "satisfaction = 'satisfied'", &[]);
        count("basically_satisfied", "satisfaction = 'basically_satisfied'", &[]);
        count("unsatisfied", "satisfaction = 'unsatisfied'", &[]);
        count("closed", "status = 'closed'", &[]);
        count("overdue", "overdue = 1", &[]);
        sql.push(" FROM orders WHERE status <> 'terminated' AND created_at >= ").arg(query.from).push(" AND created_at < ").arg(query.to);
        // Naming the days lets the `orders_rates` index (day, place) read one short range per day
        // rather than the place's whole history; a very long period reads the range instead.
        // Truncating division, as SQL divides integers.
        let days = query.from / DAY_MS..=(query.to - 1) / DAY_MS;
        if query.to > query.from && days.clone().count() <= MAX_RATE_DAYS {
            sql.push(&format!(" AND (created_at / {DAY_MS}) IN ")).tuple(days.map(Arg::from));
        }
        push_path_range(&mut sql, "region_path", subtree);
        if let Some(org) = &query.org_code {
            sql.push(" AND handler_org = ").arg(org.as_str());
        }
        let row = sql.fetch_optional(&self.reader).await?.expect("an aggregate returns a row");
        Ok(RateCounts {
            orders: row_get(&row, "orders")?,
            proactive: row_get(&row, "proactive")?,
            due: row_get(&row, "due")?,
            responded_on_time: row_get(&row, "responded_on_time")?,
            responded_late: row_get(&row, "responded_late")?,
            not_responded: row_get(&row, "not_responded")?,
            called_back: row_get(&row, "called_back")?,
            solved: row_get(&row, "solved")?,
            satisfied: row_get(&row, "satisfied")?,
            basically_satisfied: row_get(&row, "basically_satisfied")?,
            unsatisfied: row_get(&row, "unsatisfied")?,
            closed: row_get(&row, "closed")?,
            overdue: row_get(&row, "overdue")?,
        })
    }
}
