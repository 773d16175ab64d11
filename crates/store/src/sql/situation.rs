//! The cockpit's counts of a place: orders open, overdue and new today, events by category and
//! day, devices by kind and status. Each is one aggregate over an index on the region path.
use std::collections::BTreeMap;

use linli_domain::governance::calendar::BEIJING_OFFSET_MS;
use linli_domain::governance::OrderStatus;

use super::{push_path_range, row_get, Arg, SqlStore};
use crate::governance::{AreaCount, CategoryCount, DayCount, DeviceCount, SceneCount, Situation, SituationQuery};
use crate::model::{prefix_range, Jurisdiction};
use crate::Result;

const DAY_MS: i64 = 86_400_000;

fn open_statuses() -> impl Iterator<Item = Arg> {
    OrderStatus::ALL.iter().filter(|s| s.is_open()).map(|s| Arg::from(s.as_str()))
}

impl SqlStore {
    pub(crate) async fn situation_impl(&self, scope: &Jurisdiction, query: &SituationQuery) -> Result<Situation> {
        let subtree = match &query.within_code {
            Some(within) => Some(prefix_range(&self.referenced_region(&self.reader, scope, "region", within).await?.path)),
            None => scope.path_range(),
        };
        let mut situation = Situation::default();

        let mut sql = self.sql("SELECT COUNT(*) FILTER (WHERE created_at >= ");
        sql.arg(query.day_start).push(") AS today, COUNT(*) FILTER (WHERE status IN ").tuple(open_statuses());
        sql.push(") AS open, COUNT(*) FILTER (WHERE overdue = 1 AND status IN ").tuple(open_statuses());
        sql.push(") AS overdue, COUNT(*) FILTER (WHERE closed_at >= ").arg(query.day_start).push(") AS closed_today FROM orders WHERE 1 = 1");
        push_path_range(&mut sql, "region_path", subtree.clone());
        let row = sql.fetch_optional(&self.reader).await?.expect("an aggregate returns a row");
        situation.orders_today = row_get(&row, "today")?;
        situation.orders_open = row_get(&row, "open")?;
        situation.orders_overdue = row_get(&row, "overdue")?;
        situation.orders_closed_today = row_get(&row, "closed_today")?;

        let mut sql = self.sql("SELECT category, scene, COUNT(*) AS n FROM events WHERE occurred_at >= ");
        sql.arg(query.day_start);
        push_path_range(&mut sql, "region_path", subtree.clone());
        sql.push(" GROUP BY category, scene");
        let mut by_category: BTreeMap<String, i64> = BTreeMap::new();
        let mut by_scene: BTreeMap<String, i64> = BTreeMap::new();
        for row in sql.fetch_all(&self.reader).await? {
            let count: i64 = row_get(&row, "n")?;
            situation.events_today += count;
            *by_category.entry(row_get(&row, "category")?).or_default() += count;
            if let Some(scene) = row_get::<Option<String>>(&row, "scene")? {
                *by_scene.entry(scene).or_default() += count;
            }
        }
        situation.events_by_category = by_category.into_iter().map(|(category, count)| CategoryCount { category, count }).collect();
        situation.events_by_category.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.category.cmp(&b.category)));
        situation.scenes = by_scene.into_iter().map(|(scene, count)| SceneCount { scene, count }).collect();

        let mut sql =
            self.sql(&format!("SELECT (created_at + {BEIJING_OFFSET_MS}) / {DAY_MS} AS day, category, COUNT(*) AS n FROM orders WHERE created_at >= "));
        sql.arg(query.trend_from);
        push_path_range(&mut sql, "region_path", subtree.clone());
        sql.push(" GROUP BY 1, 2 ORDER BY 1, 2");
        for row in sql.fetch_all(&self.reader).await? {
            let (y, m, d) = linli_domain::time::date_of_days(row_get(&row, "day")?);
            situation.trend.push(DayCount { day: format!("{y:04}-{m:02}-{d:02}"), category: row_get(&row, "category")?, count: row_get(&row, "n")? });
        }

        for code in &query.areas {
            let path = self.referenced_region(&self.reader, scope, "areas", code).await?.path;
            let mut sql = self.sql("SELECT COUNT(*) FILTER (WHERE status IN ");
            sql.tuple(open_statuses()).push(") AS open, COUNT(*) FILTER (WHERE overdue = 1 AND status IN ").tuple(open_statuses());
            sql.push(") AS overdue FROM orders WHERE 1 = 1");
            push_path_range(&mut sql, "region_path", Some(prefix_range(&path)));
            let orders = sql.fetch_optional(&self.reader).await?.expect("an aggregate returns a row");
            let mut sql = self.sql("SELECT COUNT(*) AS n FROM events WHERE occurred_at >= ");
            sql.arg(query.day_start);
            push_path_range(&mut sql, "region_path", Some(prefix_range(&path)));
            let events = sql.fetch_optional(&self.reader).await?.expect("an aggregate returns a row");
            situation.areas.push(AreaCount {
                code: code.clone(),
                orders_open: row_get(&orders, "open")?,
                orders_overdue: row_get(&orders, "overdue")?,
                events_today: row_get(&events, "n")?,
            });
        }

        let mut sql = self.sql("SELECT kind, status, COUNT(*) AS n FROM devices WHERE 1 = 1");
        push_path_range(&mut sql, "region_path", subtree);
        sql.push(" GROUP BY kind, status ORDER BY kind, status");
        for row in sql.fetch_all(&self.reader).await? {
            situation.devices.push(DeviceCount { kind: row_get(&row, "kind")?, status: row_get(&row, "status")?, count: row_get(&row, "n")? });
        }
        Ok(situation)
    }
}
