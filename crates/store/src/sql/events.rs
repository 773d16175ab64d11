//! Events and incidents: recording a report, merging it with reports of the same problem and
//! opening the work order, in one transaction.
use linli_domain::governance::event::{merge_target, Event, Incident};
use linli_domain::governance::order::HistoryEntry;
use linli_domain::governance::settings::MergeSettings;
use linli_domain::governance::WorkOrder;
use linli_domain::sensing::scenes::Scene;
use linli_domain::{BBox, Position};
use sqlx::any::AnyRow;

use super::orders::order_message;
use super::records::{flag, from_doc, to_doc, Tx};
use super::{into_page, push_page_desc, push_path_range, row_get, SqlStore};
use crate::error::StoreError;
use crate::governance::{EventFilter, EventOutcome, NewEventRecord};
use crate::model::{prefix_range, Jurisdiction, Page, PageRequest};
use crate::Result;

const INCIDENT_COLUMNS: &str =
    "i.id, i.category, g.code AS region_code, i.region_path, i.lon, i.lat, i.first_at, i.last_at, i.report_count, i.open, i.order_id";

/// An incident and the path of its node.
fn incident_from_row(row: &AnyRow) -> Result<(Incident, String)> {
    let lon: Option<f64> = row_get(row, "lon")?;
    let lat: Option<f64> = row_get(row, "lat")?;
    let incident = Incident {
        id: row_get(row, "id")?,
        category: row_get(row, "category")?,
        region_code: row_get(row, "region_code")?,
        position: lon.zip(lat).map(|(lon, lat)| Position { lon, lat }),
        first_at: row_get(row, "first_at")?,
        last_at: row_get(row, "last_at")?,
        report_count: row_get(row, "report_count")?,
        order_id: row_get(row, "order_id")?,
        open: row_get::<i64>(row, "open")? != 0,
    };
    Ok((incident, row_get(row, "region_path")?))
}

fn event_from_row(row: &AnyRow) -> Result<(Event, String)> {
    let mut event: Event = from_doc(row, "doc")?;
    event.id = row_get(row, "id")?;
    Ok((event, row_get(row, "region_path")?))
}

impl SqlStore {
    pub(crate) async fn record_event_impl(
        &self,
        scope: &Jurisdiction,
        record: &NewEventRecord,
        merge: &MergeSettings,
        order: Option<&WorkOrder>,
        key: Option<&str>,
        at: i64,
    ) -> Result<EventOutcome> {
        let mut tx = self.begin_outbox_write().await?;
        if let Some(id) = self.idempotent_subject(&mut tx, key, "event").await? {
            return self.event_outcome(&mut tx, id).await;
        }
        let new = &record.event;
        if let Some(external) = &new.external_id {
            let mut sql = self.sql("SELECT id FROM events WHERE source = ");
            sql.arg(new.source.as_str()).push(" AND external_id = ").arg(external.as_str());
            if let Some(row) = sql.fetch_optional(&mut *tx).await? {
                // The source sent this report before: answer as for a retried request.
                return self.event_outcome(&mut tx, row_get(&row, "id")?).await;
            }
        }
        let region = self.referenced_region(&mut *tx, scope, "region_code", &record.region_code).await?;
        let position = new.position.or(region.position);

        // Candidates: open incidents of the category reported within the window, near the place.
        let window = merge.window_minutes * 60_000;
        let mut sql = self.sql(&format!("SELECT {INCIDENT_COLUMNS} FROM incidents i JOIN regions g ON g.id = i.region_id WHERE i.open = 1 AND i.category = "));
        sql.arg(new.category.as_str()).push(" AND i.last_at >= ").arg(new.occurred_at - window).push(" AND i.last_at <= ").arg(new.occurred_at + window);
        match position {
            Some(p) => {
                let b = BBox::around(p, merge.radius_m.max(1.0));
                sql.push(" AND ((i.lon >= ").arg(b.min_lon).push(" AND i.lon <= ").arg(b.max_lon);
                sql.push(" AND i.lat >= ").arg(b.min_lat).push(" AND i.lat <= ").arg(b.max_lat).push(") OR i.region_id = ").arg(region.id).push(")");
            }
            None => {
                sql.push(" AND i.region_id = ").arg(region.id);
            }
        }
        // The latest first: with more candidates than this, the most recent are the likeliest match.
        sql.push(" ORDER BY i.last_at DESC LIMIT 200");
        let candidates = sql.fetch_all(&mut *tx).await?.iter().map(|row| incident_from_row(row).map(|(i, _)| i)).collect::<Result<Vec<_>>>()?;
        let merged_new = linli_domain::governance::event::NewEvent { position, ..new.clone() };
        let target = merge_target(&candidates, &merged_new, &record.region_code, merge).cloned();

        let (incident_id, merged) = match &target {
            Some(incident) => {
                let (_, greatest) = self.dialect.least_greatest();
                let mut sql = self.sql(&format!("UPDATE incidents SET report_count = report_count + 1, last_at = {greatest}(last_at, "));
                sql.arg(new.occurred_at).push(") WHERE id = ").arg(incident.id);
                sql.execute(&mut *tx).await?;
                (incident.id, true)
            }
            None => {
                let columns = [
                    ("category", new.category.as_str().into()),
                    ("region_id", region.id.into()),
                    ("region_path", region.path.as_str().into()),
                    ("lon", position.map(|p| p.lon).into()),
                    ("lat", position.map(|p| p.lat).into()),
                    ("first_at", new.occurred_at.into()),
                    ("last_at", new.occurred_at.into()),
                    ("report_count", 1i64.into()),
                    ("open", flag(true).into()),
                ];
                (self.insert_returning_id(&mut tx, "incidents", &columns).await?, false)
            }
        };

        let event = Event {
            id: 0,
            source: new.source,
            category: new.category.clone(),
            region_code: record.region_code.clone(),
            position: new.position,
            address: new.address.clone(),
            occurred_at: new.occurred_at,
            received_at: at,
            severity: new.severity,
            title: new.title.clone(),
            description: new.description.clone(),
            reporter: new.reporter.clone(),
            evidence: new.evidence.clone(),
            external_id: new.external_id.clone(),
            device_code: new.device_code.clone(),
            incident_id,
            attributes: new.attributes.clone(),
        };
        let columns = [
            ("source", event.source.as_str().into()),
            ("category", event.category.as_str().into()),
            ("region_path", region.path.as_str().into()),
            ("occurred_at", event.occurred_at.into()),
            ("incident_id", incident_id.into()),
            ("external_id", event.external_id.clone().into()),
            ("scene", Scene::of(&event.category, &event.attributes).map(|s| s.as_str()).into()),
            ("doc", to_doc(&event).into()),
        ];
        let event_id = self.insert_returning_id(&mut tx, "events", &columns).await?;
        let event = Event { id: event_id, ..event };
        self.push_outbox(&mut tx, at, "event.created", &serde_json::json!({ "event": event, "merged": merged })).await?;

        match (&target, order) {
            // A report joining an incident with an order is counted on that order (多人同诉).
            (Some(incident), _) if incident.order_id.is_some() => {
                let order_id = incident.order_id.expect("checked");
                let (current, path) = self.order_row(&mut tx, order_id, true).await?;
                if !current.status.is_final() {
                    let next = WorkOrder { report_count: current.report_count + 1, version: current.version + 1, ..current.clone() };
                    self.write_order(&mut tx, &next, &path, current.version).await?;
                    let mut entry = HistoryEntry::new(at, "report_merged", None);
                    entry.data = serde_json::json!({ "event_id": event_id, "source": event.source, "report_count": next.report_count });
                    let entries = self.append_history(&mut tx, "order", order_id, &[entry]).await?;
                    self.push_outbox(&mut tx, at, "order.report_merged", &order_message(&next, &entries[0])).await?;
                }
            }
            // A new incident, or one that has none yet (a report that opens no order, e.g. a minor
            // camera event, may have begun it): this report's rule opens its order.
            (_, Some(template)) => {
                let mut template = template.clone();
                template.event_id = Some(event_id);
                template.incident_id = Some(incident_id);
                template.report_count = target.as_ref().map_or(1, |incident| incident.report_count + 1);
                let mut created = HistoryEntry::new(at, "created", None);
                created.to_status = Some(template.status.as_str().to_string());
                created.to_unit = Some(template.holder.clone());
                created.data = serde_json::json!({ "event_id": event_id, "source": event.source });
                let order = self.insert_order(&mut tx, &template, &region.path, &[created]).await?;
                let mut sql = self.sql("UPDATE incidents SET order_id = ");
                sql.arg(order.id).push(" WHERE id = ").arg(incident_id);
                sql.execute(&mut *tx).await?;
            }
            _ => {}
        }
        self.remember_idempotency(&mut tx, key, "event", event_id, at).await?;
        let outcome = EventOutcome { merged, ..self.event_outcome(&mut tx, event_id).await? };
        tx.commit().await?;
        Ok(outcome)
    }

    /// An event with its incident and the incident's order.
    async fn event_outcome(&self, tx: &mut Tx, event_id: i64) -> Result<EventOutcome> {
        let mut sql = self.sql("SELECT id, region_path, doc FROM events WHERE id = ");
        sql.arg(event_id);
        let (event, _) = event_from_row(&sql.fetch_optional(&mut **tx).await?.ok_or_else(|| StoreError::not_found("event", event_id))?)?;
        let (incident, _) = self.incident_row(tx, event.incident_id).await?;
        let order = match incident.order_id {
            Some(id) => Some(self.order_row(tx, id, false).await?.0),
            None => None,
        };
        let merged = incident.report_count > 1;
        Ok(EventOutcome { event, incident, order, merged })
    }

    async fn incident_row(&self, conn: &mut sqlx::AnyConnection, id: i64) -> Result<(Incident, String)> {
        let mut sql = self.sql(&format!("SELECT {INCIDENT_COLUMNS} FROM incidents i JOIN regions g ON g.id = i.region_id WHERE i.id = "));
        sql.arg(id);
        incident_from_row(&sql.fetch_optional(&mut *conn).await?.ok_or_else(|| StoreError::not_found("incident", id))?)
    }

    pub(crate) async fn get_incident_impl(&self, scope: &Jurisdiction, id: i64) -> Result<Incident> {
        let (incident, path) = self.incident_row(&mut *self.reader.acquire().await?, id).await?;
        if !scope.covers_path(&path) {
            return Err(StoreError::out_of_scope("incident", id));
        }
        Ok(incident)
    }

    pub(crate) async fn get_event_impl(&self, scope: &Jurisdiction, id: i64) -> Result<Event> {
        let mut sql = self.sql("SELECT id, region_path, doc FROM events WHERE id = ");
        sql.arg(id);
        let (event, path) = event_from_row(&sql.fetch_optional(&self.reader).await?.ok_or_else(|| StoreError::not_found("event", id))?)?;
        if !scope.covers_path(&path) {
            return Err(StoreError::out_of_scope("event", id));
        }
        Ok(event)
    }

    pub(crate) async fn list_events_impl(&self, scope: &Jurisdiction, filter: &EventFilter, page: &PageRequest) -> Result<Page<Event>> {
        let subtree = match &filter.within_code {
            Some(within) => Some(prefix_range(&self.referenced_region(&self.reader, scope, "within", within).await?.path)),
            None => scope.path_range(),
        };
        let mut sql = self.sql("SELECT id, region_path, doc FROM events WHERE 1 = 1");
        push_path_range(&mut sql, "region_path", subtree);
        if let Some(category) = &filter.category {
            sql.push(" AND category = ").arg(category.as_str());
        }
        if let Some(source) = &filter.source {
            sql.push(" AND source = ").arg(source.as_str());
        }
        if let Some(incident) = filter.incident_id {
            sql.push(" AND incident_id = ").arg(incident);
        }
        if let Some(from) = filter.from {
            sql.push(" AND occurred_at >= ").arg(from);
        }
        if let Some(to) = filter.to {
            sql.push(" AND occurred_at < ").arg(to);
        }
        push_page_desc(&mut sql, "id", page)?;
        let rows = sql.fetch_all(&self.reader).await?;
        let items = rows.iter().map(|row| event_from_row(row).map(|(e, _)| (e.id.to_string(), e))).collect::<Result<Vec<_>>>()?;
        Ok(into_page(items, page))
    }
}
