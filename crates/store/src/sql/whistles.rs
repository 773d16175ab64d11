//! Whistles (吹哨报到) with their summons, and communities' applications.
use linli_domain::governance::order::HistoryEntry;
use linli_domain::governance::rates::ReportRate;
use linli_domain::governance::Whistle;
use sqlx::any::AnyRow;

use super::records::{from_doc, to_doc};
use super::{into_page, push_page_desc, push_path_range, row_get, SqlStore};
use crate::error::StoreError;
use crate::governance::{Application, Decide, WhistleFilter};
use crate::model::{prefix_range, Jurisdiction, Page, PageRequest};
use crate::Result;

fn whistle_from_row(row: &AnyRow) -> Result<(Whistle, String)> {
    let mut whistle: Whistle = from_doc(row, "doc")?;
    whistle.id = row_get(row, "id")?;
    whistle.version = row_get(row, "version")?;
    Ok((whistle, row_get(row, "region_path")?))
}

impl SqlStore {
    async fn whistle_row(&self, conn: &mut sqlx::AnyConnection, id: i64, lock: bool) -> Result<(Whistle, String)> {
        let mut sql = self.sql("SELECT id, version, region_path, doc FROM whistles WHERE id = ");
        sql.arg(id);
        if lock {
            sql.push(self.dialect.for_update());
        }
        whistle_from_row(&sql.fetch_optional(&mut *conn).await?.ok_or_else(|| StoreError::not_found("whistle", id))?)
    }

    pub(crate) async fn create_whistle_impl(&self, scope: &Jurisdiction, whistle: &Whistle, entries: &[HistoryEntry]) -> Result<Whistle> {
        let mut tx = self.begin_outbox_write().await?;
        let region = self.referenced_region(&mut *tx, scope, "region_code", &whistle.region_code).await?;
        let columns = [
            ("version", whistle.version.into()),
            ("status", whistle.status.as_str().into()),
            ("region_path", region.path.as_str().into()),
            ("created_at", whistle.created_at.into()),
            ("deadline", whistle.deadline.into()),
            ("order_id", whistle.order_id.into()),
            ("doc", to_doc(whistle).into()),
        ];
        let id = self.insert_returning_id(&mut tx, "whistles", &columns).await?;
        let whistle = Whistle { id, ..whistle.clone() };
        for summons in &whistle.summons {
            let mut sql = self.sql("INSERT INTO summons (whistle_id, org_code, region_path, created_at, deadline, checked_in_at) VALUES ");
            sql.tuple([
                id.into(),
                summons.org.code.as_str().into(),
                region.path.as_str().into(),
                whistle.created_at.into(),
                whistle.deadline.into(),
                summons.checked_in_at.into(),
            ]);
            sql.execute(&mut *tx).await?;
        }
        let entries = self.append_history(&mut tx, "whistle", id, entries).await?;
        self.push_outbox(&mut tx, whistle.created_at, "whistle.created", &serde_json::json!({ "whistle": whistle, "entries": entries })).await?;
        tx.commit().await?;
        Ok(whistle)
    }

    pub(crate) async fn get_whistle_impl(&self, scope: &Jurisdiction, id: i64) -> Result<(Whistle, bool)> {
        let (whistle, path) = self.whistle_row(&mut *self.reader.acquire().await?, id, false).await?;
        Ok((whistle, scope.covers_path(&path)))
    }

    pub(crate) async fn update_whistle_impl(&self, scope: &Jurisdiction, id: i64, decide: Decide<'_, Whistle>) -> Result<(Whistle, Vec<HistoryEntry>)> {
        let mut tx = self.begin_outbox_write().await?;
        let (current, path) = self.whistle_row(&mut tx, id, true).await?;
        let (next, entries) = decide(&current, scope.covers_path(&path))?;
        let next = Whistle { id, version: current.version + 1, ..next };
        let columns = [("version", next.version.into()), ("status", next.status.as_str().into()), ("doc", to_doc(&next).into())];
        if self.update_columns(&mut tx, "whistles", id, Some(current.version), &columns).await? == 0 {
            return Err(StoreError::Stale { kind: "whistle", key: id.to_string(), current: current.version });
        }
        // The summons table copies each check-in for the report rates.
        for (before, after) in current.summons.iter().zip(&next.summons) {
            if before.checked_in_at != after.checked_in_at {
                let mut sql = self.sql("UPDATE summons SET checked_in_at = ");
                sql.arg(after.checked_in_at).push(" WHERE whistle_id = ").arg(id).push(" AND org_code = ").arg(after.org.code.as_str());
                sql.execute(&mut *tx).await?;
            }
        }
        let entries = self.append_history(&mut tx, "whistle", id, &entries).await?;
        for entry in &entries {
            self.push_outbox(&mut tx, entry.at, &format!("whistle.{}", entry.action), &serde_json::json!({ "whistle": next, "entry": entry })).await?;
        }
        tx.commit().await?;
        Ok((next, entries))
    }

    pub(crate) async fn list_whistles_impl(&self, scope: &Jurisdiction, filter: &WhistleFilter, page: &PageRequest) -> Result<Page<Whistle>> {
        let subtree = match &filter.within_code {
            Some(within) => Some(prefix_range(&self.referenced_region(&self.reader, scope, "within", within).await?.path)),
            None => scope.path_range(),
        };
        let mut sql = self.sql("SELECT id, version, region_path, doc FROM whistles WHERE 1 = 1");
        push_path_range(&mut sql, "region_path", subtree);
        if let Some(status) = &filter.status {
            sql.push(" AND status = ").arg(status.as_str());
        }
        if let Some(org) = &filter.org_code {
            sql.push(" AND id IN (SELECT whistle_id FROM summons WHERE org_code = ").arg(org.as_str()).push(")");
        }
        push_page_desc(&mut sql, "id", page)?;
        let rows = sql.fetch_all(&self.reader).await?;
        let items = rows.iter().map(|row| whistle_from_row(row).map(|(w, _)| (w.id.to_string(), w))).collect::<Result<Vec<_>>>()?;
        Ok(into_page(items, page))
    }

    pub(crate) async fn report_rates_impl(&self, scope: &Jurisdiction, org: Option<&str>, from: i64, to: i64, now: i64) -> Result<Vec<ReportRate>> {
        let mut sql = self.sql("SELECT org_code, COUNT(*) AS summoned, CAST(COALESCE(SUM(CASE WHEN checked_in_at IS NOT NULL OR deadline < ");
        sql.arg(now);
        sql.push(
            " THEN 1 ELSE 0 END), 0) AS BIGINT) AS due, CAST(COALESCE(SUM(CASE WHEN checked_in_at <= deadline THEN 1 ELSE 0 END), 0) AS BIGINT) AS on_time",
        );
        sql.push(" FROM summons WHERE created_at >= ").arg(from).push(" AND created_at < ").arg(to);
        push_path_range(&mut sql, "region_path", scope.path_range());
        if let Some(org) = org {
            sql.push(" AND org_code = ").arg(org);
        }
        sql.push(" GROUP BY org_code ORDER BY org_code");
        sql.fetch_all(&self.reader)
            .await?
            .iter()
            .map(|row| Ok(ReportRate::new(row_get(row, "org_code")?, row_get(row, "summoned")?, row_get(row, "due")?, row_get(row, "on_time")?)))
            .collect()
    }

    pub(crate) async fn create_application_impl(&self, scope: &Jurisdiction, application: &Application) -> Result<Application> {
        let mut tx = self.begin_outbox_write().await?;
        let region = self.referenced_region(&mut *tx, scope, "region_code", &application.region_code).await?;
        let columns = [
            ("status", application.status.as_str().into()),
            ("region_path", region.path.as_str().into()),
            ("created_at", application.created_at.into()),
            ("doc", to_doc(application).into()),
        ];
        let id = self.insert_returning_id(&mut tx, "applications", &columns).await?;
        let application = Application { id, ..application.clone() };
        self.push_outbox(&mut tx, application.created_at, "application.created", &serde_json::json!({ "application": application })).await?;
        tx.commit().await?;
        Ok(application)
    }

    pub(crate) async fn get_application_impl(&self, scope: &Jurisdiction, id: i64) -> Result<Application> {
        let mut sql = self.sql("SELECT id, region_path, doc FROM applications WHERE id = ");
        sql.arg(id);
        let row = sql.fetch_optional(&self.reader).await?.ok_or_else(|| StoreError::not_found("application", id))?;
        if !scope.covers_path(&row_get::<String>(&row, "region_path")?) {
            return Err(StoreError::out_of_scope("application", id));
        }
        Ok(Application { id, ..from_doc(&row, "doc")? })
    }

    /// Records a decision on a pending application; refuses one already decided.
    pub(crate) async fn update_application_impl(&self, scope: &Jurisdiction, application: &Application) -> Result<()> {
        let mut tx = self.begin_outbox_write().await?;
        let mut sql = self.sql("SELECT status, region_path FROM applications WHERE id = ");
        sql.arg(application.id).push(self.dialect.for_update());
        let row = sql.fetch_optional(&mut *tx).await?.ok_or_else(|| StoreError::not_found("application", application.id))?;
        if !scope.covers_path(&row_get::<String>(&row, "region_path")?) {
            return Err(StoreError::out_of_scope("application", application.id));
        }
        let status: String = row_get(&row, "status")?;
        if status != "pending" {
            return Err(StoreError::Conflict(format!("application {} is already {status}", application.id)));
        }
        let columns = [("status", application.status.as_str().into()), ("doc", to_doc(application).into())];
        self.update_columns(&mut tx, "applications", application.id, None, &columns).await?;
        let at = application.decided_at.unwrap_or(application.created_at);
        self.push_outbox(&mut tx, at, &format!("application.{}", application.status), &serde_json::json!({ "application": application })).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn list_applications_impl(&self, scope: &Jurisdiction, status: Option<&str>, page: &PageRequest) -> Result<Page<Application>> {
        let mut sql = self.sql("SELECT id, doc FROM applications WHERE 1 = 1");
        push_path_range(&mut sql, "region_path", scope.path_range());
        if let Some(status) = status {
            sql.push(" AND status = ").arg(status);
        }
        push_page_desc(&mut sql, "id", page)?;
        let rows = sql.fetch_all(&self.reader).await?;
        let items = rows
            .iter()
            .map(|row| {
                let id: i64 = row_get(row, "id")?;
                Ok((id.to_string(), Application { id, ..from_doc(row, "doc")? }))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(into_page(items, page))
    }
}
