//! What the HTTP test files share: a PostgreSQL store in a fresh schema, and users.
use linli_api::{provision_user, UserBody};
use linli_store::SqlStore;
use std::io::Write as _;

/// The password of every test user.
pub const PASSWORD: &str = "test-password";

/// A store in a fresh schema of the database named by `LINLI_TEST_DATABASE_URL`, or `None` (after
/// saying so) when the variable is unset.
pub async fn postgres_store(prefix: &str) -> Option<SqlStore> {
    let Ok(url) = std::env::var("LINLI_TEST_DATABASE_URL") else {
        // Straight to stderr: the test harness hides what `eprintln!` prints for a passing test.
        let _ = writeln!(std::io::stderr(), "skipped: LINLI_TEST_DATABASE_URL is not set, PostgreSQL not tested");
        return None;
    };
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() % 1_000_000_000;
    let schema = format!("{prefix}_{}_{nanos}", std::process::id());
    Some(SqlStore::connect_postgres(&url, Some(&schema), 4).await.unwrap())
}

/// Creates users given as (username, role, region, organisation), each with [`PASSWORD`].
pub async fn provision(store: &SqlStore, users: &[(&str, &str, Option<&str>, Option<&str>)]) {
    for (username, role, region, org) in users {
        let body = UserBody {
            username: username.to_string(),
            password: PASSWORD.into(),
            role: role.to_string(),
            display_name: None,
            region_code: region.map(str::to_string),
            org_code: org.map(str::to_string),
        };
        provision_user(store, body).await.unwrap();
    }
}

/// A small place for sensing tests: regions (code, level, parent) all at one point, departments
/// serving the first region, and devices (code, kind, region), each named by its code.
#[allow(dead_code)] // not every test file builds a place
pub async fn place(store: &SqlStore, regions: &[(&str, &str, Option<&str>)], departments: &[&str], devices: &[(&str, &str, &str)]) {
    use linli_domain::{device::DeviceInput, organisation::OrganisationInput, region::RegionInput, NewDevice, NewOrganisation, NewRegion};
    use linli_store::{Jurisdiction, Store};
    let all = Jurisdiction::everywhere();
    for (code, level, parent) in regions {
        let input = RegionInput {
            code: Some(code),
            level: Some(level),
            name: Some(code),
            parent_code: *parent,
            lon: Some(116.33),
            lat: Some(40.07),
            ..Default::default()
        };
        store.create_region(&all, &NewRegion::parse(input).unwrap()).await.unwrap();
    }
    for code in departments {
        let input = OrganisationInput { code: Some(code), name: Some(code), kind: Some("department"), region_code: Some(regions[0].0), ..Default::default() };
        store.create_organisation(&all, &NewOrganisation::parse(input).unwrap()).await.unwrap();
    }
    for (code, kind, region) in devices {
        let input = DeviceInput { code: Some(code), name: Some(code), kind: Some(kind), region_code: Some(region), ..Default::default() };
        store.create_device(&all, &NewDevice::parse(input).unwrap()).await.unwrap();
    }
}
