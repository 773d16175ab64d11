//! Users, tokens and the access audit log.
use linli_domain::{Role, User};
use sqlx::any::AnyRow;

use super::{into_page, now_ms, push_page, row_get, SqlStore};
use crate::error::StoreError;
use crate::model::{AccessEntry, AccessFilter, Jurisdiction, NewToken, NewUser, Page, PageRequest, TokenKind, UserPatch};
use crate::Result;

const USER_COLUMNS: &str = "u.id, u.username, u.display_name, u.password_hash, u.role, g.code AS region_code, o.code AS org_code, u.disabled, u.created_at";
const USER_FROM: &str = " FROM users u LEFT JOIN regions g ON g.id = u.region_id LEFT JOIN organisations o ON o.id = u.org_id";

fn user_from_row(row: &AnyRow) -> Result<(User, String)> {
    let role: String = row_get(row, "role")?;
    let disabled: i64 = row_get(row, "disabled")?;
    let user = User {
        id: row_get(row, "id")?,
        username: row_get(row, "username")?,
        display_name: row_get(row, "display_name")?,
        role: Role::parse("role", &role).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        region_code: row_get(row, "region_code")?,
        org_code: row_get(row, "org_code")?,
        disabled: disabled != 0,
        created_at: row_get(row, "created_at")?,
    };
    Ok((user, row_get(row, "password_hash")?))
}

impl SqlStore {
    async fn user_binding(&self, conn: &mut sqlx::AnyConnection, region_code: Option<&str>, org_code: Option<&str>) -> Result<(Option<i64>, Option<i64>)> {
        let everywhere = Jurisdiction::everywhere();
        let region = match region_code {
            Some(code) => Some(self.referenced_region(&mut *conn, &everywhere, "region_code", code).await?.id),
            None => None,
        };
        let org = match org_code {
            Some(code) => Some(self.referenced_organisation(conn, &everywhere, "org_code", code).await?),
            None => None,
        };
        Ok((region, org))
    }

    pub(crate) async fn create_user_impl(&self, new: &NewUser) -> Result<User> {
        let mut tx = self.begin_write(false).await?;
        let (region, org) = self.user_binding(&mut tx, new.region_code.as_deref(), new.org_code.as_deref()).await?;
        let mut sql = self.sql("INSERT INTO users (username, display_name, password_hash, role, region_id, org_id, disabled, created_at) VALUES ");
        sql.tuple([
            new.username.clone().into(),
            new.display_name.clone().into(),
            new.password_hash.clone().into(),
            new.role.as_str().into(),
            region.into(),
            org.into(),
            0i64.into(),
            now_ms().into(),
        ]);
        sql.push(" RETURNING id");
        let row = sql.fetch_optional(&mut *tx).await.map_err(|e| StoreError::from_unique(e, || format!("username {:?} is taken", new.username)))?;
        let id: i64 = row_get(&row.ok_or_else(|| StoreError::Corrupt("insert returned nothing".into()))?, "id")?;
        tx.commit().await?;
        self.get_user_impl(id).await
    }

    pub(crate) async fn get_user_impl(&self, id: i64) -> Result<User> {
        let mut sql = self.sql(&format!("SELECT {USER_COLUMNS}{USER_FROM} WHERE u.id = "));
        sql.arg(id);
        let row = sql.fetch_optional(&self.reader).await?.ok_or_else(|| StoreError::not_found("user", id))?;
        Ok(user_from_row(&row)?.0)
    }

    pub(crate) async fn find_user_impl(&self, username: &str) -> Result<Option<(User, String)>> {
        let mut sql = self.sql(&format!("SELECT {USER_COLUMNS}{USER_FROM} WHERE u.username = "));
        sql.arg(username);
        sql.fetch_optional(&self.reader).await?.as_ref().map(user_from_row).transpose()
    }

    pub(crate) async fn update_user_impl(&self, id: i64, patch: &UserPatch) -> Result<User> {
        let mut tx = self.begin_write(false).await?;
        let mut sql = self.sql("UPDATE users SET id = id");
        if let Some(name) = &patch.display_name {
            sql.push(", display_name = ").arg(name);
        }
        if let Some(hash) = &patch.password_hash {
            sql.push(", password_hash = ").arg(hash);
        }
        if let Some(role) = patch.role {
            sql.push(", role = ").arg(role.as_str());
        }
        if let Some(disabled) = patch.disabled {
            sql.push(", disabled = ").arg(i64::from(disabled));
        }
        let (region, org) =
            self.user_binding(&mut tx, patch.region_code.as_ref().and_then(|c| c.as_deref()), patch.org_code.as_ref().and_then(|c| c.as_deref())).await?;
        if patch.region_code.is_some() {
            sql.push(", region_id = ").arg(region);
        }
        if patch.org_code.is_some() {
            sql.push(", org_id = ").arg(org);
        }
        sql.push(" WHERE id = ").arg(id);
        if sql.execute(&mut *tx).await? == 0 {
            return Err(StoreError::not_found("user", id));
        }
        if patch.password_hash.is_some() || patch.disabled == Some(true) {
            // A new password or a disabled account ends every session (API tokens stay until revoked).
            let mut revoke = self.sql("UPDATE tokens SET revoked_at = ");
            revoke.arg(now_ms()).push(" WHERE user_id = ").arg(id).push(" AND kind = 'session' AND revoked_at IS NULL");
            revoke.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        self.get_user_impl(id).await
    }

    pub(crate) async fn list_users_impl(&self, scope: &Jurisdiction, page: &PageRequest) -> Result<Page<User>> {
        let mut sql = self.sql(&format!("SELECT {USER_COLUMNS}{USER_FROM} LEFT JOIN regions og ON og.id = o.region_id WHERE 1 = 1"));
        if let Some((lo, hi)) = scope.path_range() {
            sql.push(" AND ((g.path >= ").arg(lo.clone()).push(" AND g.path < ").arg(hi.clone());
            sql.push(") OR (og.path >= ").arg(lo).push(" AND og.path < ").arg(hi).push("))");
        }
        push_page(&mut sql, "u.id", page)?;
        let rows = sql.fetch_all(&self.reader).await?;
        let items = rows.iter().map(|row| user_from_row(row).map(|(u, _)| (u.id.to_string(), u))).collect::<Result<Vec<_>>>()?;
        Ok(into_page(items, page))
    }

    pub(crate) async fn insert_token_impl(&self, token: &NewToken) -> Result<()> {
        let mut sql = self.sql("INSERT INTO tokens (token_hash, user_id, kind, name, created_at, expires_at) VALUES ");
        sql.tuple([
            token.token_hash.clone().into(),
            token.user_id.into(),
            token.kind.as_str().into(),
            token.name.clone().into(),
            token.created_at.into(),
            token.expires_at.into(),
        ]);
        sql.execute(&self.writer).await?;
        Ok(())
    }

    pub(crate) async fn token_user_impl(&self, token_hash: &str, now: i64) -> Result<Option<(User, TokenKind)>> {
        let mut sql = self.sql(&format!("SELECT {USER_COLUMNS}, t.kind AS token_kind{USER_FROM} JOIN tokens t ON t.user_id = u.id WHERE t.token_hash = "));
        sql.arg(token_hash).push(" AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ").arg(now).push(") AND u.disabled = 0");
        let Some(row) = sql.fetch_optional(&self.reader).await? else {
            return Ok(None);
        };
        let kind: String = row_get(&row, "token_kind")?;
        let kind = if kind == "api" { TokenKind::Api } else { TokenKind::Session };
        Ok(Some((user_from_row(&row)?.0, kind)))
    }

    pub(crate) async fn revoke_token_impl(&self, token_hash: &str, now: i64) -> Result<()> {
        let mut sql = self.sql("UPDATE tokens SET revoked_at = ");
        sql.arg(now).push(" WHERE token_hash = ").arg(token_hash).push(" AND revoked_at IS NULL");
        sql.execute(&self.writer).await?;
        Ok(())
    }

    pub(crate) async fn record_access_impl(&self, entries: &[AccessEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write(false).await?;
        for chunk in entries.chunks(500) {
            let mut sql = self.sql("INSERT INTO access_audit (at, user_id, username, role, record_kind, record_id, action, request_id) VALUES ");
            for (i, e) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.tuple([
                    e.at.into(),
                    e.user_id.into(),
                    e.username.clone().into(),
                    e.role.clone().into(),
                    e.record_kind.clone().into(),
                    e.record_id.clone().into(),
                    e.action.clone().into(),
                    e.request_id.clone().into(),
                ]);
            }
            sql.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn list_access_impl(&self, filter: &AccessFilter, page: &PageRequest) -> Result<Page<AccessEntry>> {
        let mut sql = self.sql("SELECT id, at, user_id, username, role, record_kind, record_id, action, request_id FROM access_audit WHERE 1 = 1");
        if let Some(username) = &filter.username {
            sql.push(" AND username = ").arg(username);
        }
        if let Some(kind) = &filter.record_kind {
            sql.push(" AND record_kind = ").arg(kind);
        }
        if let Some(id) = &filter.record_id {
            sql.push(" AND record_id = ").arg(id);
        }
        if let Some(from) = filter.from_ms {
            sql.push(" AND at >= ").arg(from);
        }
        if let Some(to) = filter.to_ms {
            sql.push(" AND at < ").arg(to);
        }
        push_page(&mut sql, "id", page)?;
        let rows = sql.fetch_all(&self.reader).await?;
        let items = rows
            .iter()
            .map(|row| {
                Ok((
                    row_get::<i64>(row, "id")?.to_string(),
                    AccessEntry {
                        at: row_get(row, "at")?,
                        user_id: row_get(row, "user_id")?,
                        username: row_get(row, "username")?,
                        role: row_get(row, "role")?,
                        record_kind: row_get(row, "record_kind")?,
                        record_id: row_get(row, "record_id")?,
                        action: row_get(row, "action")?,
                        request_id: row_get(row, "request_id")?,
                    },
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(into_page(items, page))
    }
}
