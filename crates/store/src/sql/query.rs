//! A tiny SQL builder: text plus typed arguments, with each backend's placeholders.
//! sqlx's `QueryBuilder` cannot be used because the `Any` driver numbers no placeholders.
use std::fmt::Write;

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::Any;

use super::Dialect;

#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Int(Option<i64>),
    Real(Option<f64>),
    Text(Option<String>),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(Some(v))
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::Int(v)
    }
}
impl From<f64> for Arg {
    fn from(v: f64) -> Self {
        Arg::Real(Some(v))
    }
}
impl From<Option<f64>> for Arg {
    fn from(v: Option<f64>) -> Self {
        Arg::Real(v)
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(Some(v.to_string()))
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(Some(v))
    }
}
impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Arg::Text(Some(v.clone()))
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::Text(v)
    }
}
impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        Arg::Text(v.map(str::to_string))
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Sql {
    pub text: String,
    args: Vec<Arg>,
    dialect: Dialect,
    persistent: bool,
}

impl Sql {
    pub fn new(dialect: Dialect, text: &str) -> Self {
        Sql { text: text.to_string(), args: Vec::new(), dialect, persistent: true }
    }

    /// Plans this statement for its actual arguments every time instead of caching a prepared
    /// statement (see `Dialect::plans_spatial_per_request`).
    pub fn plan_each_time(&mut self) -> &mut Self {
        self.persistent = false;
        self
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `value`. Every placeholder is used once, in order, so SQLite can
    /// take anonymous `?`: its lookup of named parameters is linear per parameter, which made
    /// 5,000-parameter bulk inserts quadratic.
    pub fn arg(&mut self, value: impl Into<Arg>) -> &mut Self {
        self.args.push(value.into());
        match self.dialect {
            Dialect::Sqlite => self.text.push('?'),
            Dialect::Postgres => {
                let _ = write!(self.text, "${}", self.args.len());
            }
        }
        self
    }

    /// Appends `(v1, v2, …)` placeholders for a row of values.
    pub fn tuple(&mut self, values: impl IntoIterator<Item = Arg>) -> &mut Self {
        self.text.push('(');
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.arg(value);
        }
        self.text.push(')');
        self
    }

    pub fn query(&self) -> sqlx::query::Query<'_, Any, AnyArguments<'_>> {
        let mut query = sqlx::query(&self.text).persistent(self.persistent);
        for arg in &self.args {
            query = match arg {
                Arg::Int(v) => query.bind(*v),
                Arg::Real(Some(v)) => query.bind(*v),
                // sqlx 0.8.6's Any driver swaps the two float NULLs: a NULL f64 is declared to
                // PostgreSQL as float4, and a statement prepared with it then rejects a real f64
                // (22P03). A NULL f32 is declared float8, which is what the columns are.
                Arg::Real(None) => query.bind(None::<f32>),
                Arg::Text(v) => query.bind(v.clone()),
            };
        }
        query
    }

    pub async fn fetch_all<'c, E>(&self, executor: E) -> Result<Vec<AnyRow>, sqlx::Error>
    where
        E: sqlx::Executor<'c, Database = Any>,
    {
        self.query().fetch_all(executor).await
    }

    pub async fn fetch_optional<'c, E>(&self, executor: E) -> Result<Option<AnyRow>, sqlx::Error>
    where
        E: sqlx::Executor<'c, Database = Any>,
    {
        self.query().fetch_optional(executor).await
    }

    pub async fn execute<'c, E>(&self, executor: E) -> Result<u64, sqlx::Error>
    where
        E: sqlx::Executor<'c, Database = Any>,
    {
        Ok(self.query().execute(executor).await?.rows_affected())
    }
}
