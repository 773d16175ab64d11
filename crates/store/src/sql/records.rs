//! What the governance tables share: JSON documents, append-only history, the outbox and
//! idempotency keys. A record's `id` and `version` are its columns', set on the value when it is
//! read (the document written at insert holds id 0).
use linli_domain::governance::order::HistoryEntry;
use serde::{de::DeserializeOwned, Serialize};
use sqlx::any::AnyRow;

use super::{row_get, SqlStore};
use crate::error::StoreError;
use crate::Result;

pub(crate) type Tx = sqlx::Transaction<'static, sqlx::Any>;

pub(crate) fn to_doc<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("domain records serialize")
}

pub(crate) fn from_doc<T: DeserializeOwned>(row: &AnyRow, column: &str) -> Result<T> {
    let raw: String = row_get(row, column)?;
    serde_json::from_str(&raw).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

/// Rows per multi-row INSERT: large enough to amortise round trips, small enough for SQLite's
/// 32,766-parameter limit with the widest table.
const ROWS_PER_STATEMENT: usize = 500;

pub(crate) fn flag(value: bool) -> i64 {
    i64::from(value)
}

impl SqlStore {
    /// Inserts rows of values with multi-row statements `head (…), (…) tail`; `tail` is empty or an
    /// `ON CONFLICT …` clause (then no two rows may share a key).
    pub(crate) async fn insert_rows(&self, tx: &mut sqlx::Transaction<'_, sqlx::Any>, head: &str, rows: Vec<Vec<super::Arg>>, tail: &str) -> Result<()> {
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let mut sql = self.sql(head);
            for (i, values) in rows.by_ref().take(ROWS_PER_STATEMENT).enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.tuple(values);
            }
            sql.push(tail);
            sql.execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// Appends entries to a record's history, numbering them after the last; returns them numbered.
    pub(crate) async fn append_history(&self, tx: &mut Tx, subject: &str, id: i64, entries: &[HistoryEntry]) -> Result<Vec<HistoryEntry>> {
        let mut sql = self.sql("SELECT COALESCE(MAX(seq), 0) AS n FROM history WHERE subject = ");
        sql.arg(subject).push(" AND subject_id = ").arg(id);
        let last: i64 = row_get(&sql.fetch_optional(&mut **tx).await?.expect("an aggregate returns a row"), "n")?;
        let mut numbered = Vec::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            let mut entry = entry.clone();
            entry.seq = last + 1 + i as i64;
            let mut sql = self.sql("INSERT INTO history (subject, subject_id, seq, at, doc) VALUES ");
            sql.tuple([subject.into(), id.into(), entry.seq.into(), entry.at.into(), to_doc(&entry).into()]);
            sql.execute(&mut **tx).await?;
            numbered.push(entry);
        }
        Ok(numbered)
    }

    pub(crate) async fn history_impl(&self, subject: &str, id: i64) -> Result<Vec<HistoryEntry>> {
        let mut sql = self.sql("SELECT doc FROM history WHERE subject = ");
        sql.arg(subject).push(" AND subject_id = ").arg(id).push(" ORDER BY seq");
        sql.fetch_all(&self.reader).await?.iter().map(|row| from_doc(row, "doc")).collect()
    }

    /// Queues a change for webhooks and the live stream, in the transaction that makes it (begun
    /// with `begin_outbox_write`, so outbox ids follow commit order).
    pub(crate) async fn push_outbox(&self, tx: &mut Tx, at: i64, topic: &str, payload: &serde_json::Value) -> Result<()> {
        let mut sql = self.sql("INSERT INTO outbox (at, topic, payload) VALUES ");
        sql.tuple([at.into(), topic.into(), payload.to_string().into()]);
        sql.execute(&mut **tx).await?;
        Ok(())
    }

    /// The record an idempotency key already created, if any.
    pub(crate) async fn idempotent_subject(&self, tx: &mut Tx, key: Option<&str>, kind: &str) -> Result<Option<i64>> {
        let Some(key) = key else { return Ok(None) };
        let mut sql = self.sql("SELECT kind, subject_id FROM idempotency_keys WHERE key = ");
        sql.arg(key);
        match sql.fetch_optional(&mut **tx).await? {
            Some(row) if row_get::<String>(&row, "kind")? == kind => Ok(Some(row_get(&row, "subject_id")?)),
            Some(_) => Err(StoreError::Conflict(format!("idempotency key {key:?} was used for another kind of request"))),
            None => Ok(None),
        }
    }

    pub(crate) async fn remember_idempotency(&self, tx: &mut Tx, key: Option<&str>, kind: &str, id: i64, at: i64) -> Result<()> {
        if let Some(key) = key {
            let mut sql = self.sql("INSERT INTO idempotency_keys (key, kind, subject_id, created_at) VALUES ");
            sql.tuple([key.into(), kind.into(), id.into(), at.into()]);
            sql.execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// Inserts a row and returns its new id.
    pub(crate) async fn insert_returning_id(&self, tx: &mut Tx, table: &str, columns: &[(&str, super::Arg)]) -> Result<i64> {
        let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
        let mut sql = self.sql(&format!("INSERT INTO {table} ({}) VALUES ", names.join(", ")));
        sql.tuple(columns.iter().map(|(_, arg)| arg.clone()));
        sql.push(" RETURNING id");
        let row = sql.fetch_optional(&mut **tx).await?.expect("RETURNING returns the row");
        row_get(&row, "id")
    }

    /// `UPDATE table SET columns WHERE id = ? [AND version = ?]`; the rows changed.
    pub(crate) async fn update_columns(&self, tx: &mut Tx, table: &str, id: i64, version: Option<i64>, columns: &[(&str, super::Arg)]) -> Result<u64> {
        let mut sql = self.sql(&format!("UPDATE {table} SET "));
        for (i, (name, arg)) in columns.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push(&format!("{name} = ")).arg(arg.clone());
        }
        sql.push(" WHERE id = ").arg(id);
        if let Some(version) = version {
            sql.push(" AND version = ").arg(version);
        }
        Ok(sql.execute(&mut **tx).await?)
    }
}
