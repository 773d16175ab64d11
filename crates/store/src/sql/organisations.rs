//! Organisations and the region each serves.
use linli_domain::{NewOrganisation, OrgKind, Organisation};
use sqlx::any::AnyRow;

use super::{into_page, like_pattern, now_ms, parse_json_object, push_page_by_region, region_cursor, row_get, Arg, SqlStore};
use crate::error::StoreError;
use crate::model::{prefix_range, Jurisdiction, OrganisationFilter, OrganisationPatch, Page, PageRequest};
use crate::Result;

const ORG_COLUMNS: &str = "o.id, o.code, o.name, o.kind, g.code AS region_code, o.region_path, p.code AS parent_code, o.phone, o.attributes, o.updated_at";
const ORG_FROM: &str = " FROM organisations o JOIN regions g ON g.id = o.region_id LEFT JOIN organisations p ON p.id = o.parent_id";

fn organisation_from_row(row: &AnyRow) -> Result<(i64, String, Organisation)> {
    let kind: String = row_get(row, "kind")?;
    let attributes: String = row_get(row, "attributes")?;
    let organisation = Organisation {
        code: row_get(row, "code")?,
        name: row_get(row, "name")?,
        kind: OrgKind::parse("kind", &kind).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        region_code: row_get(row, "region_code")?,
        parent_code: row_get(row, "parent_code")?,
        phone: row_get(row, "phone")?,
        attributes: parse_json_object(&attributes)?,
        updated_at: row_get(row, "updated_at")?,
    };
    Ok((row_get(row, "id")?, row_get(row, "region_path")?, organisation))
}

/// An organisation is visible inside a jurisdiction when it serves a node there, or serves a node
/// above it (a district department also serves every community of the district).
pub(crate) fn visible(scope: &Jurisdiction, region_path: &str) -> bool {
    scope.covers_path(region_path) || scope.root.as_ref().is_some_and(|r| r.path.starts_with(region_path))
}

impl SqlStore {
    pub(crate) async fn organisation_row(&self, conn: &mut sqlx::AnyConnection, code: &str) -> Result<(i64, String, Organisation)> {
        let mut sql = self.sql(&format!("SELECT {ORG_COLUMNS}{ORG_FROM} WHERE o.code = "));
        sql.arg(code);
        let row = sql.fetch_optional(&mut *conn).await?.ok_or_else(|| StoreError::not_found("organisation", code))?;
        organisation_from_row(&row)
    }

    /// Looks up an organisation another record refers to.
    pub(crate) async fn referenced_organisation(&self, conn: &mut sqlx::AnyConnection, scope: &Jurisdiction, field: &str, code: &str) -> Result<i64> {
        let (id, path, _) = match self.organisation_row(conn, code).await {
            Err(StoreError::NotFound { .. }) => return Err(StoreError::invalid(field, format!("organisation {code:?} does not exist"))),
            other => other?,
        };
        if !visible(scope, &path) {
            return Err(StoreError::out_of_scope("organisation", code));
        }
        Ok(id)
    }

    pub(crate) async fn create_organisation_impl(&self, scope: &Jurisdiction, new: &NewOrganisation) -> Result<Organisation> {
        let mut tx = self.begin_write(false).await?;
        let region = self.referenced_region(&mut *tx, scope, "region_code", &new.region_code).await?;
        let parent_id = match &new.parent_code {
            Some(parent) => Some(self.referenced_organisation(&mut tx, scope, "parent_code", parent).await?),
            None => None,
        };
        let mut sql = self.sql(&format!("INSERT INTO organisations ({ORG_INSERT_COLUMNS}) VALUES "));
        sql.tuple(organisation_values(new, region.id, region.path.clone(), parent_id, now_ms()));
        sql.execute(&mut *tx).await.map_err(|e| StoreError::from_unique(e, || format!("organisation code {:?} already exists", new.code)))?;
        let (_, _, organisation) = self.organisation_row(&mut tx, &new.code).await?;
        tx.commit().await?;
        Ok(organisation)
    }

    pub(crate) async fn get_organisation_impl(&self, scope: &Jurisdiction, code: &str) -> Result<Organisation> {
        let (_, path, organisation) = self.organisation_row(&mut *self.reader.acquire().await?, code).await?;
        if !visible(scope, &path) {
            return Err(StoreError::out_of_scope("organisation", code));
        }
        Ok(organisation)
    }

    pub(crate) async fn update_organisation_impl(&self, scope: &Jurisdiction, code: &str, patch: &OrganisationPatch) -> Result<Organisation> {
        let mut tx = self.begin_write(false).await?;
        let (id, path, _) = self.organisation_row(&mut tx, code).await?;
        // Changing an organisation needs authority over the region it serves, not mere visibility.
        if !scope.covers_path(&path) {
            return Err(StoreError::out_of_scope("organisation", code));
        }
        let mut sql = self.sql("UPDATE organisations SET updated_at = ");
        sql.arg(now_ms());
        if let Some(name) = &patch.name {
            sql.push(", name = ").arg(name);
        }
        if let Some(kind) = patch.kind {
            sql.push(", kind = ").arg(kind.as_str());
        }
        if let Some(phone) = &patch.phone {
            sql.push(", phone = ").arg(phone.clone());
        }
        if let Some(attributes) = &patch.attributes {
            sql.push(", attributes = ").arg(serde_json::Value::Object(attributes.clone()).to_string());
        }
        if let Some(region_code) = &patch.region_code {
            let region = self.referenced_region(&mut *tx, scope, "region_code", region_code).await?;
            sql.push(", region_id = ").arg(region.id).push(", region_path = ").arg(region.path.clone());
        }
        sql.push(" WHERE id = ").arg(id);
        sql.execute(&mut *tx).await?;
        let (_, _, organisation) = self.organisation_row(&mut tx, code).await?;
        tx.commit().await?;
        Ok(organisation)
    }

    pub(crate) async fn delete_organisation_impl(&self, scope: &Jurisdiction, code: &str) -> Result<()> {
        let mut tx = self.begin_write(false).await?;
        let (id, path, _) = self.organisation_row(&mut tx, code).await?;
        if !scope.covers_path(&path) {
            return Err(StoreError::out_of_scope("organisation", code));
        }
        for (what, query) in [
            ("child organisations", "SELECT COUNT(*) AS n FROM organisations WHERE parent_id = "),
            ("devices", "SELECT COUNT(*) AS n FROM devices WHERE owner_org_id = "),
            ("users", "SELECT COUNT(*) AS n FROM users WHERE org_id = "),
        ] {
            let mut sql = self.sql(query);
            sql.arg(id);
            let n: i64 = row_get(&sql.fetch_optional(&mut *tx).await?.ok_or_else(|| StoreError::Corrupt("count".into()))?, "n")?;
            if n > 0 {
                return Err(StoreError::Conflict(format!("organisation {code:?} still has {n} {what}")));
            }
        }
        let mut sql = self.sql("DELETE FROM organisations WHERE id = ");
        sql.arg(id);
        sql.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn list_organisations_impl(&self, scope: &Jurisdiction, filter: &OrganisationFilter, page: &PageRequest) -> Result<Page<Organisation>> {
        let mut sql = self.sql(&format!("SELECT {ORG_COLUMNS}{ORG_FROM} WHERE 1 = 1"));
        if let Some(root) = &scope.root {
            let (lo, hi) = prefix_range(&root.path);
            sql.push(" AND ((o.region_path >= ").arg(lo).push(" AND o.region_path < ").arg(hi);
            sql.push(") OR ").arg(root.path.clone()).push(" LIKE o.region_path || '%')");
        }
        if let Some(within) = &filter.within_code {
            let key = self.referenced_region(&self.reader, scope, "within", within).await?;
            let (lo, hi) = prefix_range(&key.path);
            sql.push(" AND o.region_path >= ").arg(lo).push(" AND o.region_path < ").arg(hi);
        }
        if let Some(kind) = filter.kind {
            sql.push(" AND o.kind = ").arg(kind.as_str());
        }
        if let Some(q) = &filter.q {
            let pattern = like_pattern(q);
            let like = self.dialect.case_insensitive_like();
            sql.push(&format!(" AND (o.name {like} ")).arg(pattern.clone()).push(&format!(" ESCAPE '\\' OR o.code {like} ")).arg(pattern).push(" ESCAPE '\\')");
        }
        push_page_by_region(&mut sql, "o.region_path", "o.id", None, page)?;
        let rows = sql.fetch_all(&self.reader).await?;
        let items = rows.iter().map(|row| organisation_from_row(row).map(|(id, path, o)| (region_cursor(&path, id), o))).collect::<Result<Vec<_>>>()?;
        Ok(into_page(items, page))
    }
}

pub(crate) const ORG_INSERT_COLUMNS: &str = "code, name, kind, region_id, region_path, parent_id, phone, attributes, updated_at";

pub(crate) fn organisation_values(new: &NewOrganisation, region_id: i64, region_path: String, parent_id: Option<i64>, now: i64) -> Vec<Arg> {
    vec![
        new.code.clone().into(),
        new.name.clone().into(),
        new.kind.as_str().into(),
        region_id.into(),
        region_path.into(),
        parent_id.into(),
        new.phone.clone().into(),
        serde_json::Value::Object(new.attributes.clone()).to_string().into(),
        now.into(),
    ]
}
