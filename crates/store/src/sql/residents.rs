//! Residents and their ties to dwellings.
use std::collections::HashMap;

use linli_domain::{CareTag, DwellingLink, DwellingRelation, Gender, NewResident, ResidenceKind, Resident};
use sqlx::any::AnyRow;

use super::{into_page, like_pattern, now_ms, parse_json_object, push_page_by_region, region_cursor, row_get, Arg, Sql, SqlStore};
use crate::error::StoreError;
use crate::model::{Jurisdiction, Page, PageRequest, ResidentFilter, ResidentPatch};
use crate::Result;

const RESIDENT_COLUMNS: &str = "s.id, s.name, s.id_number, s.phone, s.gender, s.birth_date, s.residence_kind, s.care_tags, h.code AS home_code, s.home_relation, s.region_path, s.attributes, s.updated_at";
const RESIDENT_FROM: &str = " FROM residents s JOIN regions h ON h.id = s.home_id";

/// Care tags are stored as `;a;b;` so one tag is matched with `LIKE '%;a;%'`.
pub(crate) fn care_tags_text(tags: &[CareTag]) -> String {
    if tags.is_empty() {
        return String::new();
    }
    format!(";{};", tags.iter().map(|t| t.0.as_str()).collect::<Vec<_>>().join(";"))
}

fn keyword<T>(row: &AnyRow, column: &str, parse: fn(&str, &str) -> Result<T, linli_domain::InvalidField>) -> Result<T> {
    let text: String = row_get(row, column)?;
    parse(column, &text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn resident_from_row(row: &AnyRow) -> Result<(String, Resident)> {
    let care_tags: String = row_get(row, "care_tags")?;
    let gender: Option<String> = row_get(row, "gender")?;
    let home_code: String = row_get(row, "home_code")?;
    let attributes: String = row_get(row, "attributes")?;
    let resident = Resident {
        id: row_get(row, "id")?,
        name: row_get(row, "name")?,
        id_number: row_get(row, "id_number")?,
        phone: row_get(row, "phone")?,
        gender: gender.map(|g| Gender::parse("gender", &g)).transpose().map_err(|e| StoreError::Corrupt(e.to_string()))?,
        birth_date: row_get(row, "birth_date")?,
        residence_kind: keyword(row, "residence_kind", ResidenceKind::parse)?,
        care_tags: care_tags.split(';').filter(|t| !t.is_empty()).map(|t| CareTag(t.to_string())).collect(),
        dwellings: vec![DwellingLink { dwelling_code: home_code.clone(), relation: keyword(row, "home_relation", DwellingRelation::parse)? }],
        home_code,
        attributes: parse_json_object(&attributes)?,
        updated_at: row_get(row, "updated_at")?,
    };
    Ok((row_get(row, "region_path")?, resident))
}

impl SqlStore {
    /// Fetches residents by a WHERE clause and fills in their further dwellings.
    async fn residents_where(&self, conn: &mut sqlx::AnyConnection, sql: Sql) -> Result<Vec<(String, Resident)>> {
        let rows = sql.fetch_all(&mut *conn).await?;
        let mut residents: Vec<(String, Resident)> = rows.iter().map(resident_from_row).collect::<Result<_>>()?;
        if residents.is_empty() {
            return Ok(residents);
        }
        let mut links =
            self.sql("SELECT d.resident_id, g.code, d.relation FROM resident_dwellings d JOIN regions g ON g.id = d.region_id WHERE d.resident_id IN ");
        links.tuple(residents.iter().map(|(_, r)| Arg::from(r.id)));
        links.push(" ORDER BY d.resident_id, g.code");
        let mut by_id: HashMap<i64, Vec<DwellingLink>> = HashMap::new();
        for row in links.fetch_all(&mut *conn).await? {
            by_id
                .entry(row_get(&row, "resident_id")?)
                .or_default()
                .push(DwellingLink { dwelling_code: row_get(&row, "code")?, relation: keyword(&row, "relation", DwellingRelation::parse)? });
        }
        for (_, resident) in &mut residents {
            if let Some(more) = by_id.remove(&resident.id) {
                resident.dwellings.extend(more);
            }
        }
        Ok(residents)
    }

    async fn resident_in(&self, conn: &mut sqlx::AnyConnection, scope: &Jurisdiction, id: i64) -> Result<Resident> {
        let mut sql = self.sql(&format!("SELECT {RESIDENT_COLUMNS}{RESIDENT_FROM} WHERE s.id = "));
        sql.arg(id);
        let (path, resident) = self.residents_where(conn, sql).await?.pop().ok_or_else(|| StoreError::not_found("resident", id))?;
        if !scope.covers_path(&path) {
            return Err(StoreError::out_of_scope("resident", id));
        }
        Ok(resident)
    }

    pub(crate) async fn create_resident_impl(&self, scope: &Jurisdiction, new: &NewResident) -> Result<Resident> {
        let mut tx = self.begin_write(false).await?;
        let home = self.referenced_region(&mut *tx, scope, "dwelling_code", &new.home_code).await?;
        let mut sql = self.sql(&format!("INSERT INTO residents ({RESIDENT_INSERT_COLUMNS}) VALUES "));
        sql.tuple(resident_values(new, home.id, home.path.clone(), now_ms()));
        sql.push(" RETURNING id");
        let row = sql.fetch_optional(&mut *tx).await.map_err(|e| duplicate_id_number(e, new.id_number.as_deref()))?;
        let id: i64 = row_get(&row.ok_or_else(|| StoreError::Corrupt("insert returned nothing".into()))?, "id")?;
        tx.commit().await?;
        self.resident_in(&mut *self.reader.acquire().await?, scope, id).await
    }

    pub(crate) async fn get_resident_impl(&self, scope: &Jurisdiction, id: i64) -> Result<Resident> {
        self.resident_in(&mut *self.reader.acquire().await?, scope, id).await
    }

    pub(crate) async fn update_resident_impl(&self, scope: &Jurisdiction, id: i64, patch: &ResidentPatch) -> Result<Resident> {
        let mut tx = self.begin_write(false).await?;
        let mut current = self.sql(&format!("SELECT {RESIDENT_COLUMNS}{RESIDENT_FROM} WHERE s.id = "));
        current.arg(id);
        let row = current.fetch_optional(&mut *tx).await?.ok_or_else(|| StoreError::not_found("resident", id))?;
        let (path, _) = resident_from_row(&row)?;
        if !scope.covers_path(&path) {
            return Err(StoreError::out_of_scope("resident", id));
        }
        let mut sql = self.sql("UPDATE residents SET updated_at = ");
        sql.arg(now_ms());
        if let Some(name) = &patch.name {
            sql.push(", name = ").arg(name);
        }
        if let Some(id_number) = &patch.id_number {
            sql.push(", id_number = ").arg(id_number.clone());
        }
        if let Some(phone) = &patch.phone {
            sql.push(", phone = ").arg(phone.clone());
        }
        if let Some(kind) = patch.residence_kind {
            sql.push(", residence_kind = ").arg(kind.as_str());
        }
        if let Some(tags) = &patch.care_tags {
            sql.push(", care_tags = ").arg(care_tags_text(tags));
        }
        if let Some(attributes) = &patch.attributes {
            sql.push(", attributes = ").arg(serde_json::Value::Object(attributes.clone()).to_string());
        }
        if let Some(home_code) = &patch.home_code {
            let home = self.referenced_region(&mut *tx, scope, "dwelling_code", home_code).await?;
            sql.push(", home_id = ").arg(home.id).push(", region_path = ").arg(home.path.clone());
            // The new home may have been one of the further dwellings; it is listed once.
            let mut unlink = self.sql("DELETE FROM resident_dwellings WHERE resident_id = ");
            unlink.arg(id).push(" AND region_id = ").arg(home.id);
            unlink.execute(&mut *tx).await?;
        }
        sql.push(" WHERE id = ").arg(id);
        sql.execute(&mut *tx).await.map_err(|e| duplicate_id_number(e, patch.id_number.as_ref().and_then(|v| v.as_deref())))?;
        tx.commit().await?;
        self.resident_in(&mut *self.reader.acquire().await?, &Jurisdiction::everywhere(), id).await
    }

    pub(crate) async fn delete_resident_impl(&self, scope: &Jurisdiction, id: i64) -> Result<()> {
        let mut tx = self.begin_write(false).await?;
        self.resident_in(&mut tx, scope, id).await?;
        for table in ["DELETE FROM resident_dwellings WHERE resident_id = ", "DELETE FROM residents WHERE id = "] {
            let mut sql = self.sql(table);
            sql.arg(id);
            sql.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn list_residents_impl(&self, scope: &Jurisdiction, filter: &ResidentFilter, page: &PageRequest) -> Result<Page<Resident>> {
        let mut sql = self.sql(&format!("SELECT {RESIDENT_COLUMNS}{RESIDENT_FROM} WHERE 1 = 1"));
        let subtree = match &filter.within_code {
            Some(within) => Some(crate::model::prefix_range(&self.referenced_region(&self.reader, scope, "within", within).await?.path)),
            None => scope.path_range(),
        };

        if let Some(kind) = filter.residence_kind {
            sql.push(" AND s.residence_kind = ").arg(kind.as_str());
        }
        if let Some(tag) = &filter.care_tag {
            sql.push(" AND s.care_tags LIKE ").arg(like_pattern(&format!(";{};", tag.0))).push(" ESCAPE '\\'");
        }
        if let Some(q) = &filter.q {
            sql.push(" AND s.name LIKE ").arg(like_pattern(q)).push(" ESCAPE '\\'");
        }
        if let Some(id_number) = &filter.id_number {
            sql.push(" AND s.id_number = ").arg(id_number);
        }
        if let Some(phone) = &filter.phone {
            sql.push(" AND s.phone = ").arg(phone);
        }
        push_page_by_region(&mut sql, "s.region_path", "s.id", subtree, page)?;
        let items = self.residents_where(&mut *self.reader.acquire().await?, sql).await?;
        Ok(into_page(items.into_iter().map(|(path, r)| (region_cursor(&path, r.id), r)).collect(), page))
    }

    pub(crate) async fn link_dwelling_impl(&self, scope: &Jurisdiction, id: i64, dwelling_code: &str, relation: DwellingRelation) -> Result<Resident> {
        let mut tx = self.begin_write(false).await?;
        let resident = self.resident_in(&mut tx, scope, id).await?;
        let dwelling = self.referenced_region(&mut *tx, scope, "dwelling_code", dwelling_code).await?;
        let sql = if resident.home_code == dwelling_code {
            let mut sql = self.sql("UPDATE residents SET home_relation = ");
            sql.arg(relation.as_str()).push(" WHERE id = ").arg(id);
            sql
        } else {
            let mut sql = self.sql("INSERT INTO resident_dwellings (resident_id, region_id, relation) VALUES ");
            sql.tuple([id.into(), dwelling.id.into(), relation.as_str().into()]);
            sql.push(" ON CONFLICT (resident_id, region_id) DO UPDATE SET relation = excluded.relation");
            sql
        };
        sql.execute(&mut *tx).await?;
        tx.commit().await?;
        self.resident_in(&mut *self.reader.acquire().await?, scope, id).await
    }

    pub(crate) async fn unlink_dwelling_impl(&self, scope: &Jurisdiction, id: i64, dwelling_code: &str) -> Result<Resident> {
        let mut tx = self.begin_write(false).await?;
        let resident = self.resident_in(&mut tx, scope, id).await?;
        if resident.home_code == dwelling_code {
            return Err(StoreError::invalid("dwelling_code", "the home dwelling cannot be unlinked; move the resident's home instead"));
        }
        let mut sql = self.sql("DELETE FROM resident_dwellings WHERE resident_id = ");
        sql.arg(id).push(" AND region_id = (SELECT id FROM regions WHERE code = ").arg(dwelling_code).push(")");
        if sql.execute(&mut *tx).await? == 0 {
            return Err(StoreError::not_found("dwelling link", dwelling_code));
        }
        tx.commit().await?;
        self.resident_in(&mut *self.reader.acquire().await?, scope, id).await
    }
}

pub(crate) const RESIDENT_INSERT_COLUMNS: &str =
    "name, id_number, phone, gender, birth_date, residence_kind, care_tags, home_id, home_relation, region_path, attributes, updated_at";

pub(crate) fn resident_values(new: &NewResident, home_id: i64, region_path: String, now: i64) -> Vec<Arg> {
    vec![
        new.name.clone().into(),
        new.id_number.clone().into(),
        new.phone.clone().into(),
        new.gender.map(|g| g.as_str()).into(),
        new.birth_date.clone().into(),
        new.residence_kind.as_str().into(),
        care_tags_text(&new.care_tags).into(),
        home_id.into(),
        new.relation.as_str().into(),
        region_path.into(),
        serde_json::Value::Object(new.attributes.clone()).to_string().into(),
        now.into(),
    ]
}

fn duplicate_id_number(error: sqlx::Error, id_number: Option<&str>) -> StoreError {
    StoreError::from_unique(error, || {
        format!("a resident with ID number {} already exists", id_number.map(linli_domain::masking::mask_id_number).unwrap_or_default())
    })
}
