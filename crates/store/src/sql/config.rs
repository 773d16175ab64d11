//! Configuration of the closed loop (settings, the business calendar, the routing table), media
//! metadata, Open311 API keys, webhooks and the outbox.
use linli_domain::governance::calendar::{format_date, parse_date, CalendarDay, DayKind};

use super::{row_get, SqlStore};
use crate::error::StoreError;
use crate::governance::{MediaInfo, NewWebhook, OutboxMessage, Route, Webhook};
use crate::model::Jurisdiction;
use crate::Result;

impl SqlStore {
    pub(crate) async fn get_setting_impl(&self, key: &str) -> Result<Option<String>> {
        let mut sql = self.sql("SELECT value FROM settings WHERE key = ");
        sql.arg(key);
        sql.fetch_optional(&self.reader).await?.map(|row| row_get(&row, "value")).transpose()
    }

    pub(crate) async fn put_setting_impl(&self, key: &str, value: &str, at: i64) -> Result<()> {
        let mut tx = self.begin_write(false).await?;
        let mut sql = self.sql("DELETE FROM settings WHERE key = ");
        sql.arg(key);
        sql.execute(&mut *tx).await?;
        let mut sql = self.sql("INSERT INTO settings (key, value, updated_at) VALUES ");
        sql.tuple([key.into(), value.into(), at.into()]);
        sql.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn calendar_days_impl(&self) -> Result<Vec<CalendarDay>> {
        let rows = self.sql("SELECT day, kind, name FROM calendar_days ORDER BY day").fetch_all(&self.reader).await?;
        rows.iter()
            .map(|row| {
                let kind: String = row_get(row, "kind")?;
                Ok(CalendarDay {
                    date: format_date(row_get(row, "day")?),
                    kind: DayKind::parse("kind", &kind).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    name: row_get(row, "name")?,
                })
            })
            .collect()
    }

    pub(crate) async fn put_calendar_day_impl(&self, day: &CalendarDay) -> Result<()> {
        let number = parse_date("date", &day.date).map_err(|e| StoreError::Invalid(e.into()))?;
        let mut tx = self.begin_write(false).await?;
        let mut sql = self.sql("DELETE FROM calendar_days WHERE day = ");
        sql.arg(number);
        sql.execute(&mut *tx).await?;
        let mut sql = self.sql("INSERT INTO calendar_days (day, kind, name) VALUES ");
        sql.tuple([number.into(), day.kind.as_str().into(), day.name.as_str().into()]);
        sql.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn delete_calendar_day_impl(&self, date: &str) -> Result<()> {
        let number = parse_date("date", date).map_err(|e| StoreError::Invalid(e.into()))?;
        let mut sql = self.sql("DELETE FROM calendar_days WHERE day = ");
        sql.arg(number);
        if sql.execute(&self.writer).await? == 0 {
            return Err(StoreError::not_found("calendar day", date));
        }
        Ok(())
    }

    pub(crate) async fn list_routes_impl(&self, scope: &Jurisdiction) -> Result<Vec<Route>> {
        let mut sql = self.sql("SELECT r.category, g.code AS region_code, o.code AS org_code FROM routes r JOIN regions g ON g.id = r.region_id JOIN organisations o ON o.id = r.org_id WHERE 1 = 1");
        super::push_path_range(&mut sql, "g.path", scope.path_range());
        sql.push(" ORDER BY r.category, g.path");
        let rows = sql.fetch_all(&self.reader).await?;
        rows.iter()
            .map(|row| Ok(Route { category: row_get(row, "category")?, region_code: row_get(row, "region_code")?, org_code: row_get(row, "org_code")? }))
            .collect()
    }

    pub(crate) async fn put_route_impl(&self, scope: &Jurisdiction, route: &Route) -> Result<()> {
        let mut tx = self.begin_write(false).await?;
        let region = self.referenced_region(&mut *tx, scope, "region_code", &route.region_code).await?;
        let org = self.referenced_organisation(&mut tx, &Jurisdiction::everywhere(), "org_code", &route.org_code).await?;
        let mut sql = self.sql("DELETE FROM routes WHERE category = ");
        sql.arg(route.category.as_str()).push(" AND region_id = ").arg(region.id);
        sql.execute(&mut *tx).await?;
        let mut sql = self.sql("INSERT INTO routes (category, region_id, org_id) VALUES ");
        sql.tuple([route.category.as_str().into(), region.id.into(), org.into()]);
        sql.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn delete_route_impl(&self, scope: &Jurisdiction, category: &str, region_code: &str) -> Result<()> {
        let mut tx = self.begin_write(false).await?;
        let region = self.referenced_region(&mut *tx, scope, "region_code", region_code).await?;
        let mut sql = self.sql("DELETE FROM routes WHERE category = ");
        sql.arg(category).push(" AND region_id = ").arg(region.id);
        if sql.execute(&mut *tx).await? == 0 {
            return Err(StoreError::not_found("route", format!("{category} at {region_code}")));
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn route_for_impl(&self, category: &str, region_code: &str) -> Result<Option<String>> {
        let region = self.referenced_region(&self.reader, &Jurisdiction::everywhere(), "region_code", region_code).await?;
        // The route of the deepest node on the path from the root to the place.
        let ancestors: Vec<i64> = region.path.split('/').filter(|s| !s.is_empty()).filter_map(|s| s.parse().ok()).collect();
        let mut sql = self.sql("SELECT o.code AS org_code, g.path AS path FROM routes r JOIN regions g ON g.id = r.region_id JOIN organisations o ON o.id = r.org_id WHERE r.category = ");
        sql.arg(category).push(" AND r.region_id IN ").tuple(ancestors.iter().map(|id| super::Arg::from(*id)));
        let rows = sql.fetch_all(&self.reader).await?;
        let mut best: Option<(String, String)> = None;
        for row in rows {
            let path: String = row_get(&row, "path")?;
            if best.as_ref().is_none_or(|(p, _)| path.len() > p.len()) {
                best = Some((path, row_get(&row, "org_code")?));
            }
        }
        Ok(best.map(|(_, org)| org))
    }

    pub(crate) async fn record_media_impl(&self, info: &MediaInfo) -> Result<()> {
        let mut tx = self.begin_write(false).await?;
        let mut sql = self.sql("SELECT id FROM media WHERE id = ");
        sql.arg(info.id.as_str());
        if sql.fetch_optional(&mut *tx).await?.is_none() {
            let mut sql = self.sql("INSERT INTO media (id, content_type, size, created_at) VALUES ");
            sql.tuple([info.id.as_str().into(), info.content_type.as_str().into(), info.size.into(), info.created_at.into()]);
            sql.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn get_media_impl(&self, id: &str) -> Result<Option<MediaInfo>> {
        let mut sql = self.sql("SELECT id, content_type, size, created_at FROM media WHERE id = ");
        sql.arg(id);
        sql.fetch_optional(&self.reader)
            .await?
            .map(|row| {
                Ok(MediaInfo {
                    id: row_get(&row, "id")?,
                    content_type: row_get(&row, "content_type")?,
                    size: row_get(&row, "size")?,
                    created_at: row_get(&row, "created_at")?,
                })
            })
            .transpose()
    }

    pub(crate) async fn create_api_key_impl(&self, key_hash: &str, name: &str, at: i64) -> Result<()> {
        let mut sql = self.sql("INSERT INTO api_keys (key_hash, name, created_at) VALUES ");
        sql.tuple([key_hash.into(), name.into(), at.into()]);
        sql.execute(&self.writer).await.map_err(|e| StoreError::from_unique(e, || "that API key already exists".to_string()))?;
        Ok(())
    }

    pub(crate) async fn api_key_valid_impl(&self, key_hash: &str) -> Result<bool> {
        let mut sql = self.sql("SELECT key_hash FROM api_keys WHERE revoked_at IS NULL AND key_hash = ");
        sql.arg(key_hash);
        Ok(sql.fetch_optional(&self.reader).await?.is_some())
    }

    pub(crate) async fn create_webhook_impl(&self, new: &NewWebhook) -> Result<Webhook> {
        let mut tx = self.begin_write(false).await?;
        let columns = [
            ("url", new.url.as_str().into()),
            ("secret", new.secret.as_str().into()),
            ("topics", serde_json::to_string(&new.topics).expect("strings serialize").into()),
            ("cursor", new.cursor.into()),
            ("created_by", new.created_by.into()),
            ("created_at", new.created_at.into()),
        ];
        let id = self.insert_returning_id(&mut tx, "webhooks", &columns).await?;
        tx.commit().await?;
        Ok(Webhook {
            id,
            url: new.url.clone(),
            topics: new.topics.clone(),
            cursor: new.cursor,
            last_status: None,
            created_at: new.created_at,
            secret: new.secret.clone(),
        })
    }

    pub(crate) async fn list_webhooks_impl(&self) -> Result<Vec<Webhook>> {
        let rows = self.sql("SELECT id, url, secret, topics, cursor, last_status, created_at FROM webhooks ORDER BY id").fetch_all(&self.reader).await?;
        rows.iter()
            .map(|row| {
                let topics: String = row_get(row, "topics")?;
                Ok(Webhook {
                    id: row_get(row, "id")?,
                    url: row_get(row, "url")?,
                    topics: serde_json::from_str(&topics).map_err(|e| StoreError::Corrupt(format!("webhook topics: {e}")))?,
                    cursor: row_get(row, "cursor")?,
                    last_status: row_get(row, "last_status")?,
                    created_at: row_get(row, "created_at")?,
                    secret: row_get(row, "secret")?,
                })
            })
            .collect()
    }

    pub(crate) async fn delete_webhook_impl(&self, id: i64) -> Result<()> {
        let mut sql = self.sql("DELETE FROM webhooks WHERE id = ");
        sql.arg(id);
        if sql.execute(&self.writer).await? == 0 {
            return Err(StoreError::not_found("webhook", id));
        }
        Ok(())
    }

    pub(crate) async fn advance_webhook_impl(&self, id: i64, cursor: i64, status: &str) -> Result<()> {
        let mut sql = self.sql("UPDATE webhooks SET cursor = ");
        sql.arg(cursor).push(", last_status = ").arg(status).push(" WHERE id = ").arg(id);
        sql.execute(&self.writer).await?;
        Ok(())
    }

    pub(crate) async fn outbox_after_impl(&self, after: i64, limit: u32) -> Result<Vec<OutboxMessage>> {
        let mut sql = self.sql("SELECT id, at, topic, payload FROM outbox WHERE id > ");
        sql.arg(after).push(" ORDER BY id LIMIT ").arg(i64::from(limit));
        let rows = sql.fetch_all(&self.reader).await?;
        rows.iter()
            .map(|row| {
                let payload: String = row_get(row, "payload")?;
                Ok(OutboxMessage {
                    id: row_get(row, "id")?,
                    at: row_get(row, "at")?,
                    topic: row_get(row, "topic")?,
                    payload: serde_json::from_str(&payload).map_err(|e| StoreError::Corrupt(format!("outbox payload: {e}")))?,
                })
            })
            .collect()
    }

    pub(crate) async fn outbox_head_impl(&self) -> Result<i64> {
        let row = self.sql("SELECT COALESCE(MAX(id), 0) AS id FROM outbox").fetch_optional(&self.reader).await?.expect("an aggregate returns a row");
        row_get(&row, "id")
    }
}
