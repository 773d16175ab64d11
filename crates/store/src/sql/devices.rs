//! Devices: every thing that senses or acts.
use linli_domain::{Device, DeviceKind, DeviceStatus, NewDevice, Position};
use sqlx::any::AnyRow;

use super::dialect::SpatialRows;
use super::{
    into_page, like_pattern, now_ms, parse_json_object, push_page_by_region, push_spatial_where, region_cursor, row_get, spatial_boxes, Arg, SqlStore,
};
use crate::error::StoreError;
use crate::model::{prefix_range, DeviceFilter, DevicePatch, Jurisdiction, Page, PageRequest};
use crate::Result;

const DEVICE_COLUMNS: &str = "d.id, d.code, d.name, d.kind, g.code AS region_code, d.region_path, d.lon, d.lat, o.code AS owner_org_code, d.status, d.last_seen_at, d.attributes, d.updated_at";
const DEVICE_FROM: &str = " FROM devices d JOIN regions g ON g.id = d.region_id LEFT JOIN organisations o ON o.id = d.owner_org_id";

fn device_from_row(row: &AnyRow) -> Result<(i64, String, Device)> {
    let kind: String = row_get(row, "kind")?;
    let status: String = row_get(row, "status")?;
    let lon: Option<f64> = row_get(row, "lon")?;
    let lat: Option<f64> = row_get(row, "lat")?;
    let attributes: String = row_get(row, "attributes")?;
    let device = Device {
        code: row_get(row, "code")?,
        name: row_get(row, "name")?,
        kind: DeviceKind::parse("kind", &kind).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        region_code: row_get(row, "region_code")?,
        position: lon.zip(lat).map(|(lon, lat)| Position { lon, lat }),
        owner_org_code: row_get(row, "owner_org_code")?,
        status: DeviceStatus::parse("status", &status).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        last_seen_at: row_get(row, "last_seen_at")?,
        attributes: parse_json_object(&attributes)?,
        updated_at: row_get(row, "updated_at")?,
    };
    Ok((row_get(row, "id")?, row_get(row, "region_path")?, device))
}

impl SqlStore {
    async fn device_row(&self, conn: &mut sqlx::AnyConnection, code: &str) -> Result<(i64, String, Device)> {
        let mut sql = self.sql(&format!("SELECT {DEVICE_COLUMNS}{DEVICE_FROM} WHERE d.code = "));
        sql.arg(code);
        let row = sql.fetch_optional(&mut *conn).await?.ok_or_else(|| StoreError::not_found("device", code))?;
        device_from_row(&row)
    }

    pub(crate) async fn create_device_impl(&self, scope: &Jurisdiction, new: &NewDevice) -> Result<Device> {
        let mut tx = self.begin_write(false).await?;
        let region = self.referenced_region(&mut *tx, scope, "region_code", &new.region_code).await?;
        let owner = match &new.owner_org_code {
            Some(code) => Some(self.referenced_organisation(&mut tx, scope, "owner_org_code", code).await?),
            None => None,
        };
        let mut sql = self.sql(&format!("INSERT INTO devices ({DEVICE_INSERT_COLUMNS}) VALUES "));
        sql.tuple(device_values(new, region.id, region.path.clone(), new.position.or(region.position), owner, now_ms()));
        sql.execute(&mut *tx).await.map_err(|e| StoreError::from_unique(e, || format!("device code {:?} already exists", new.code)))?;
        let (_, _, device) = self.device_row(&mut tx, &new.code).await?;
        tx.commit().await?;
        Ok(device)
    }

    pub(crate) async fn get_device_impl(&self, scope: &Jurisdiction, code: &str) -> Result<Device> {
        let (_, path, device) = self.device_row(&mut *self.reader.acquire().await?, code).await?;
        if !scope.covers_path(&path) {
            return Err(StoreError::out_of_scope("device", code));
        }
        Ok(device)
    }

    pub(crate) async fn update_device_impl(&self, scope: &Jurisdiction, code: &str, patch: &DevicePatch) -> Result<Device> {
        let mut tx = self.begin_write(false).await?;
        let (id, path, _) = self.device_row(&mut tx, code).await?;
        if !scope.covers_path(&path) {
            return Err(StoreError::out_of_scope("device", code));
        }
        let mut sql = self.sql("UPDATE devices SET updated_at = ");
        sql.arg(now_ms());
        if let Some(name) = &patch.name {
            sql.push(", name = ").arg(name);
        }
        if let Some(status) = patch.status {
            sql.push(", status = ").arg(status.as_str());
        }
        if let Some(seen) = patch.last_seen_at {
            sql.push(", last_seen_at = ").arg(seen);
        }
        if let Some(position) = patch.position {
            sql.push(", lon = ").arg(position.map(|p| p.lon)).push(", lat = ").arg(position.map(|p| p.lat));
        }
        if let Some(attributes) = &patch.attributes {
            sql.push(", attributes = ").arg(serde_json::Value::Object(attributes.clone()).to_string());
        }
        if let Some(region_code) = &patch.region_code {
            let region = self.referenced_region(&mut *tx, scope, "region_code", region_code).await?;
            sql.push(", region_id = ").arg(region.id).push(", region_path = ").arg(region.path.clone());
        }
        if let Some(owner) = &patch.owner_org_code {
            let owner_id = match owner {
                Some(code) => Some(self.referenced_organisation(&mut tx, scope, "owner_org_code", code).await?),
                None => None,
            };
            sql.push(", owner_org_id = ").arg(owner_id);
        }
        sql.push(" WHERE id = ").arg(id);
        sql.execute(&mut *tx).await?;
        let (_, _, device) = self.device_row(&mut tx, code).await?;
        tx.commit().await?;
        Ok(device)
    }

    pub(crate) async fn delete_device_impl(&self, scope: &Jurisdiction, code: &str) -> Result<()> {
        let mut tx = self.begin_write(false).await?;
        let (id, path, _) = self.device_row(&mut tx, code).await?;
        if !scope.covers_path(&path) {
            return Err(StoreError::out_of_scope("device", code));
        }
        let mut sql = self.sql("DELETE FROM devices WHERE id = ");
        sql.arg(id);
        sql.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn list_devices_impl(&self, scope: &Jurisdiction, filter: &DeviceFilter, page: &PageRequest) -> Result<Page<Device>> {
        let subtree = match &filter.within_code {
            Some(within) => Some(prefix_range(&self.referenced_region(&self.reader, scope, "within", within).await?.path)),
            None => scope.path_range(),
        };
        let mut sql = self.sql(&format!("SELECT {DEVICE_COLUMNS} FROM "));
        let spatial = self.dialect.push_spatial_source(&mut sql, "devices", &spatial_boxes(&filter.spatial), None);
        sql.push(if spatial { "devices d ON d.id = t.id" } else { "devices d" });
        sql.push(" JOIN regions g ON g.id = d.region_id LEFT JOIN organisations o ON o.id = d.owner_org_id WHERE 1 = 1");
        if let Some(kind) = filter.kind {
            sql.push(" AND d.kind = ").arg(kind.as_str());
        }
        if let Some(status) = filter.status {
            sql.push(" AND d.status = ").arg(status.as_str());
        }
        if let Some(owner) = &filter.owner_org_code {
            sql.push(" AND o.code = ").arg(owner);
        }
        if let Some(q) = &filter.q {
            let pattern = like_pattern(q);
            let like = self.dialect.case_insensitive_like();
            sql.push(&format!(" AND (d.name {like} ")).arg(pattern.clone()).push(&format!(" ESCAPE '\\' OR d.code {like} ")).arg(pattern).push(" ESCAPE '\\')");
        }
        if self.dialect.plans_spatial_per_request() && !spatial_boxes(&filter.spatial).is_empty() {
            sql.plan_each_time();
        }
        push_spatial_where(&mut sql, self.dialect, "d", &filter.spatial, SpatialRows::Points);
        push_page_by_region(&mut sql, "d.region_path", "d.id", subtree, page)?;
        let rows = sql.fetch_all(&self.reader).await?;
        let items = rows.iter().map(|row| device_from_row(row).map(|(id, path, d)| (region_cursor(&path, id), d))).collect::<Result<Vec<_>>>()?;
        Ok(into_page(items, page))
    }
}

pub(crate) const DEVICE_INSERT_COLUMNS: &str = "code, name, kind, region_id, region_path, lon, lat, owner_org_id, status, attributes, updated_at";

pub(crate) fn device_values(new: &NewDevice, region_id: i64, region_path: String, position: Option<Position>, owner: Option<i64>, now: i64) -> Vec<Arg> {
    vec![
        new.code.clone().into(),
        new.name.clone().into(),
        new.kind.as_str().into(),
        region_id.into(),
        region_path.into(),
        position.map(|p| p.lon).into(),
        position.map(|p| p.lat).into(),
        owner.into(),
        new.status.as_str().into(),
        serde_json::Value::Object(new.attributes.clone()).to_string().into(),
        now.into(),
    ]
}
