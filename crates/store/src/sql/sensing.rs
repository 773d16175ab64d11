//! Telemetry, rule states and dead letters.
use linli_domain::sensing::{Reading, ReadingValue, RuleState};

use super::records::{from_doc, to_doc};
use super::{row_get, Arg, SqlStore};
use crate::sensing::{Compaction, DeadLetter, DeviceTelemetry, SeriesPoint, SeriesQuery};
use crate::Result;

fn columns(value: &ReadingValue) -> (Option<f64>, Option<String>) {
    match value {
        ReadingValue::Text(t) => (None, Some(t.clone())),
        other => (other.as_f64(), None),
    }
}

impl SqlStore {
    /// Writes a batch of devices' telemetry in one transaction: the series, the latest value of
    /// each attribute (an older reading never replaces a newer one), rule states, last-seen times.
    pub(crate) async fn record_telemetry_impl(&self, batch: &[DeviceTelemetry]) -> Result<()> {
        let mut tx = self.begin_write(false).await?;
        let rows: Vec<(&str, &Reading)> = batch.iter().flat_map(|d| d.readings.iter().map(move |r| (d.device_code.as_str(), r))).collect();
        let series = rows
            .iter()
            .map(|(device, reading)| {
                let (num, text) = columns(&reading.value);
                vec![Arg::from(*device), reading.name.as_str().into(), reading.at.into(), num.into(), text.into()]
            })
            .collect();
        self.insert_rows(&mut tx, "INSERT INTO telemetry (device_code, name, at, num, text) VALUES ", series, " ON CONFLICT DO NOTHING").await?;
        // Latest values: one row per (device, attribute), the newest reading of the batch.
        let mut latest: std::collections::BTreeMap<(&str, &str), &Reading> = Default::default();
        for (device, reading) in &rows {
            let slot = latest.entry((device, reading.name.as_str())).or_insert(reading);
            if reading.at >= slot.at {
                *slot = reading;
            }
        }
        let latest = latest
            .into_iter()
            .map(|((device, name), reading)| {
                vec![Arg::from(device), name.into(), reading.at.into(), to_doc(&reading.value).into(), reading.unit.clone().into()]
            })
            .collect();
        let newer_only = " ON CONFLICT (device_code, name) DO UPDATE SET at = excluded.at, value = excluded.value, unit = excluded.unit \
                          WHERE excluded.at >= telemetry_latest.at";
        self.insert_rows(&mut tx, "INSERT INTO telemetry_latest (device_code, name, at, value, unit) VALUES ", latest, newer_only).await?;
        // One state per (device, rule): the batch merges each device's messages.
        let states = batch
            .iter()
            .flat_map(|d| d.rule_states.iter().map(move |(rule, state)| vec![Arg::from(d.device_code.as_str()), rule.as_str().into(), to_doc(state).into()]))
            .collect();
        let replace = " ON CONFLICT (device_code, rule_code) DO UPDATE SET doc = excluded.doc";
        self.insert_rows(&mut tx, "INSERT INTO rule_states (device_code, rule_code, doc) VALUES ", states, replace).await?;
        for (device, seen_at) in batch.iter().filter_map(|d| d.seen_at.map(|at| (d, at))) {
            // Heard from: online again unless someone set it to fault, maintenance or decommissioned.
            let mut sql = self.sql("UPDATE devices SET status = CASE WHEN status = 'offline' THEN 'online' ELSE status END, last_seen_at = ");
            sql.arg(seen_at)
                .push(" WHERE code = ")
                .arg(device.device_code.as_str())
                .push(" AND (last_seen_at IS NULL OR last_seen_at < ")
                .arg(seen_at)
                .push(")");
            sql.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn rule_states_impl(&self, device_code: &str) -> Result<Vec<(String, RuleState)>> {
        let mut sql = self.sql("SELECT rule_code, doc FROM rule_states WHERE device_code = ");
        sql.arg(device_code);
        sql.fetch_all(&self.reader).await?.iter().map(|row| Ok((row_get(row, "rule_code")?, from_doc(row, "doc")?))).collect()
    }

    pub(crate) async fn latest_telemetry_impl(&self, device_code: &str) -> Result<Vec<Reading>> {
        let mut sql = self.sql("SELECT name, at, value, unit FROM telemetry_latest WHERE device_code = ");
        sql.arg(device_code).push(" ORDER BY name");
        sql.fetch_all(&self.reader)
            .await?
            .iter()
            .map(|row| Ok(Reading { name: row_get(row, "name")?, at: row_get(row, "at")?, value: from_doc(row, "value")?, unit: row_get(row, "unit")? }))
            .collect()
    }

    pub(crate) async fn telemetry_series_impl(&self, query: &SeriesQuery) -> Result<Vec<SeriesPoint>> {
        if query.device_codes.is_empty() {
            return Ok(Vec::new());
        }
        let bucket = query.bucket_ms.max(1);
        // Raw readings and the hourly roll-ups of compacted ones, as rows of one shape.
        let mut sql = self.sql(&format!(
            "SELECT device_code, (at - {from}) / {bucket} AS bucket, CAST({agg} AS DOUBLE PRECISION) AS value, CAST(SUM(n) AS BIGINT) AS n FROM (\
             SELECT device_code, at, 1 AS n, num AS total, num AS low, num AS high FROM telemetry WHERE name = ",
            from = query.from,
            agg = query.aggregate.sql(),
        ));
        sql.arg(query.name.as_str()).push(" AND at >= ").arg(query.from).push(" AND at < ").arg(query.to);
        sql.push(" AND device_code IN ").tuple(query.device_codes.iter().map(|c| Arg::from(c.as_str())));
        sql.push(" UNION ALL SELECT device_code, hour AS at, count AS n, sum AS total, min AS low, max AS high FROM telemetry_hourly WHERE name = ");
        sql.arg(query.name.as_str()).push(" AND hour >= ").arg(query.from).push(" AND hour < ").arg(query.to);
        sql.push(" AND device_code IN ").tuple(query.device_codes.iter().map(|c| Arg::from(c.as_str())));
        sql.push(") AS readings GROUP BY device_code, bucket ORDER BY device_code, bucket");
        sql.fetch_all(&self.reader)
            .await?
            .iter()
            .map(|row| {
                let bucket_no: i64 = row_get(row, "bucket")?;
                Ok(SeriesPoint {
                    device_code: row_get(row, "device_code")?,
                    at: query.from + bucket_no * bucket,
                    value: row_get(row, "value")?,
                    count: row_get(row, "n")?,
                })
            })
            .collect()
    }

    /// Folds numeric readings older than `before` into hourly roll-ups (adding to any already
    /// there, so a late reading for a compacted hour still counts) and removes them with the text
    /// readings beside them; removes roll-ups older than `hours_before`. One transaction.
    pub(crate) async fn compact_telemetry_impl(&self, before: i64, hours_before: i64) -> Result<Compaction> {
        let mut tx = self.begin_write(false).await?;
        if let Some(lock) = self.dialect.compaction_lock_sql() {
            self.sql(lock).fetch_all(&mut *tx).await?;
        }
        let (least, greatest) = self.dialect.least_greatest();
        let sql = self.sql(&format!(
            "INSERT INTO telemetry_hourly (device_code, name, hour, count, sum, min, max) \
             SELECT device_code, name, (at / 3600000) * 3600000, COUNT(num), SUM(num), MIN(num), MAX(num) FROM telemetry \
             WHERE num IS NOT NULL AND at < {before} GROUP BY device_code, name, (at / 3600000) * 3600000 \
             ON CONFLICT (device_code, name, hour) DO UPDATE SET count = telemetry_hourly.count + excluded.count, \
             sum = telemetry_hourly.sum + excluded.sum, min = {least}(telemetry_hourly.min, excluded.min), max = {greatest}(telemetry_hourly.max, excluded.max)"
        ));
        sql.execute(&mut *tx).await?;
        let mut sql = self.sql("DELETE FROM telemetry WHERE at < ");
        sql.arg(before);
        let readings_removed = sql.execute(&mut *tx).await?;
        let mut sql = self.sql("DELETE FROM telemetry_hourly WHERE hour < ");
        sql.arg(hours_before);
        let hours_removed = sql.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Compaction { readings_removed, hours_removed })
    }

    pub(crate) async fn record_dead_letter_impl(&self, letter: &DeadLetter) -> Result<i64> {
        let mut tx = self.begin_write(false).await?;
        let columns: [(&str, Arg); 5] = [
            ("at", letter.at.into()),
            ("source", letter.source.as_str().into()),
            ("device_code", letter.device_code.clone().into()),
            ("reason", letter.reason.as_str().into()),
            ("payload", letter.payload.as_str().into()),
        ];
        let id = self.insert_returning_id(&mut tx, "dead_letters", &columns).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub(crate) async fn list_dead_letters_impl(&self, before_id: Option<i64>, limit: u32) -> Result<Vec<DeadLetter>> {
        let mut sql = self.sql("SELECT id, at, source, device_code, reason, payload FROM dead_letters");
        if let Some(before) = before_id {
            sql.push(" WHERE id < ").arg(before);
        }
        sql.push(" ORDER BY id DESC LIMIT ").arg(i64::from(limit));
        sql.fetch_all(&self.reader)
            .await?
            .iter()
            .map(|row| {
                Ok(DeadLetter {
                    id: row_get(row, "id")?,
                    at: row_get(row, "at")?,
                    source: row_get(row, "source")?,
                    device_code: row_get(row, "device_code")?,
                    reason: row_get(row, "reason")?,
                    payload: row_get(row, "payload")?,
                })
            })
            .collect()
    }
}
