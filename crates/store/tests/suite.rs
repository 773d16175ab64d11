//! The one store test suite, run against SQLite (always) and PostgreSQL (when
//! `LINLI_TEST_DATABASE_URL` is set; otherwise each PostgreSQL test says it skipped).
use linli_domain::device::DeviceInput;
use linli_domain::governance::WorkOrder;
use linli_domain::organisation::OrganisationInput;
use linli_domain::person::ResidentInput;
use linli_domain::region::{RegionInput, RegionPatch};
use linli_domain::{BBox, DwellingRelation, Level, NewDevice, NewOrganisation, NewRegion, NewResident, Role};
use linli_store::*;
use std::io::Write as _;

mod backends {
    use super::*;

    pub struct TestStore {
        pub store: SqlStore,
        _dir: Option<tempfile::TempDir>,
    }

    impl std::ops::Deref for TestStore {
        type Target = SqlStore;
        fn deref(&self) -> &SqlStore {
            &self.store
        }
    }

    pub async fn sqlite() -> TestStore {
        let dir = tempfile::tempdir().unwrap();
        let store = SqlStore::open_sqlite(&dir.path().join("linli.db")).await.unwrap();
        TestStore { store, _dir: Some(dir) }
    }

    /// A fresh schema per test in the database named by `LINLI_TEST_DATABASE_URL`.
    pub async fn postgres() -> Option<TestStore> {
        let Ok(url) = std::env::var("LINLI_TEST_DATABASE_URL") else {
            // Straight to stderr: the test harness hides what `eprintln!` prints for a passing test.
            let _ = writeln!(std::io::stderr(), "skipped: LINLI_TEST_DATABASE_URL is not set, PostgreSQL not tested");
            return None;
        };
        let schema = format!("linli_test_{}_{}", std::process::id(), rand_suffix());
        let store = SqlStore::connect_postgres(&url, Some(&schema), 4).await.expect("connect to LINLI_TEST_DATABASE_URL");
        Some(TestStore { store, _dir: None })
    }

    fn rand_suffix() -> u64 {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos() as u64;
        nanos * 1000 + NEXT.fetch_add(1, Ordering::Relaxed)
    }
}

/// Runs each named async test against both backends.
macro_rules! store_suite {
    ($($test:ident),+ $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                let store = super::backends::sqlite().await;
                super::$test(&store.store).await;
            })+
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                let Some(store) = super::backends::postgres().await else { return };
                super::$test(&store.store).await;
            })+
        }
    };
}

store_suite!(
    hierarchy_builds_and_refuses_bad_parents,
    moving_a_node_rewrites_paths_and_refuses_cycles,
    jurisdiction_limits_reads_and_writes,
    spatial_queries_find_what_lies_inside,
    spatial_pages_walk_every_match_once,
    name_search_finds_substrings,
    pagination_walks_every_record_once,
    residents_link_dwellings_and_filter,
    import_is_all_or_nothing_with_every_bad_row,
    import_places_children_after_parents,
    organisations_and_devices,
    users_tokens_and_audit,
    imported_orders_keep_their_history_and_count,
    missing_and_present_coordinates_share_a_statement,
    telemetry_latest_series_rule_states_and_dead_letters,
);

fn region(code: &str, level: &str, parent: Option<&str>, lonlat: Option<(f64, f64)>) -> NewRegion {
    NewRegion::parse(RegionInput {
        code: Some(code),
        level: Some(level),
        name: Some(&format!("名-{code}")),
        parent_code: parent,
        lon: lonlat.map(|p| p.0),
        lat: lonlat.map(|p| p.1),
        ..Default::default()
    })
    .unwrap()
}

fn resident(name: &str, id_number: &str, home: &str) -> NewResident {
    NewResident::parse(ResidentInput {
        name: Some(name),
        id_number: Some(id_number),
        phone: Some("13812345678"),
        home_code: Some(home),
        care_tags: vec!["独居老人"],
        ..Default::default()
    })
    .unwrap()
}

/// 昌平区 → 回龙观街道 → 两个社区 → 楼栋 → 房屋.
async fn seed(store: &SqlStore) {
    let all = Jurisdiction::everywhere();
    for r in [
        region("cp", "district", None, Some((116.23, 40.22))),
        region("hlg", "street", Some("cp"), Some((116.33, 40.07))),
        region("c1", "community", Some("hlg"), Some((116.32, 40.07))),
        region("c2", "community", Some("hlg"), Some((116.34, 40.08))),
        region("b1", "building", Some("c1"), Some((116.321, 40.071))),
        region("b2", "building", Some("c2"), Some((116.341, 40.081))),
        region("d1", "dwelling", Some("b1"), None),
        region("d2", "dwelling", Some("b2"), None),
    ] {
        store.create_region(&all, &r).await.unwrap();
    }
}

async fn hierarchy_builds_and_refuses_bad_parents(store: &SqlStore) {
    seed(store).await;
    let all = Jurisdiction::everywhere();
    let d1 = store.get_region(&all, "d1").await.unwrap();
    assert_eq!(d1.parent_code.as_deref(), Some("b1"));
    // A dwelling without geometry sits where its building is.
    assert_eq!(d1.position.unwrap().lon, 116.321);
    let chain: Vec<String> = store.region_ancestors(&all, "d1").await.unwrap().into_iter().map(|r| r.code).collect();
    assert_eq!(chain, ["cp", "hlg", "c1", "b1", "d1"]);

    let dup = store.create_region(&all, &region("c1", "community", Some("hlg"), None)).await.unwrap_err();
    assert!(matches!(dup, StoreError::Conflict(_)), "{dup:?}");
    let orphan = store.create_region(&all, &region("x", "building", Some("nowhere"), None)).await.unwrap_err();
    assert!(matches!(&orphan, StoreError::Invalid(i) if i.0[0].field == "parent_code"), "{orphan:?}");
    let upside_down = store.create_region(&all, &region("s9", "street", Some("c1"), None)).await.unwrap_err();
    assert!(matches!(upside_down, StoreError::Invalid(_)));

    // Moving a building's geometry carries the dwellings that sat where it stood.
    let moved = RegionPatch { geometry: Some(Some(linli_domain::Geometry::point(linli_domain::Position { lon: 116.4, lat: 40.1 }))), ..Default::default() };
    store.update_region(&all, "b1", &moved).await.unwrap();
    assert_eq!(store.get_region(&all, "d1").await.unwrap().position.unwrap().lon, 116.4);
    // A box whose edge passes exactly through a point still finds it.
    let edge = BBox::parse("bbox", "116.4,40.1,116.5,40.2").unwrap();
    let filter = RegionFilter { level: Some(Level::Dwelling), spatial: SpatialFilter { bbox: Some(edge), near: None }, ..Default::default() };
    assert_eq!(store.list_regions(&all, &filter, &PageRequest::default()).await.unwrap().items.len(), 1);

    let busy = store.delete_region(&all, "b1").await.unwrap_err();
    assert!(matches!(busy, StoreError::Conflict(_)));
    store.delete_region(&all, "d1").await.unwrap();
    assert!(matches!(store.get_region(&all, "d1").await, Err(StoreError::NotFound { .. })));

    let counts = store.counts(&all).await.unwrap();
    assert_eq!((counts.regions, counts.dwellings), (7, 1));
}

async fn moving_a_node_rewrites_paths_and_refuses_cycles(store: &SqlStore) {
    seed(store).await;
    let all = Jurisdiction::everywhere();
    store.create_resident(&all, &resident("张三", "110114199003071234", "d1")).await.unwrap();
    let cycle = store.update_region(&all, "c1", &RegionPatch { parent_code: Some("b1".into()), ..Default::default() }).await.unwrap_err();
    assert!(matches!(&cycle, StoreError::Invalid(i) if i.0[0].message.contains("cycle")), "{cycle:?}");

    let moved =
        store.update_region(&all, "b1", &RegionPatch { parent_code: Some("c2".into()), name: Some("1号楼".into()), ..Default::default() }).await.unwrap();
    assert_eq!((moved.parent_code.as_deref(), moved.name.as_str()), (Some("c2"), "1号楼"));
    // The dwelling and its resident moved along: they are now inside c2's subtree.
    let c2 = store.jurisdiction(Some("c2")).await.unwrap();
    assert!(store.get_region(&c2, "d1").await.is_ok());
    let people = store.list_residents(&c2, &ResidentFilter::default(), &PageRequest::default()).await.unwrap();
    assert_eq!(people.items.len(), 1);
    let c1 = store.jurisdiction(Some("c1")).await.unwrap();
    assert!(store.list_residents(&c1, &ResidentFilter::default(), &PageRequest::default()).await.unwrap().items.is_empty());
}

async fn jurisdiction_limits_reads_and_writes(store: &SqlStore) {
    seed(store).await;
    let c1 = store.jurisdiction(Some("c1")).await.unwrap();
    assert_eq!(c1.root_code(), Some("c1"));
    let seen: Vec<String> =
        store.list_regions(&c1, &RegionFilter::default(), &PageRequest::default()).await.unwrap().items.into_iter().map(|r| r.code).collect();
    assert_eq!(seen, ["c1", "b1", "d1"]);
    assert!(matches!(store.get_region(&c1, "b2").await, Err(StoreError::OutOfScope { .. })));
    assert!(matches!(store.create_region(&c1, &region("b9", "building", Some("c2"), None)).await, Err(StoreError::OutOfScope { .. })));
    assert!(store.create_region(&c1, &region("b9", "building", Some("c1"), None)).await.is_ok());
    assert!(matches!(store.create_resident(&c1, &resident("李四", "110114198001011238", "d2")).await, Err(StoreError::OutOfScope { .. })));
    let filter = RegionFilter { within_code: Some("c2".into()), ..Default::default() };
    assert!(matches!(store.list_regions(&c1, &filter, &PageRequest::default()).await, Err(StoreError::OutOfScope { .. })));
    assert!(matches!(store.jurisdiction(Some("nowhere")).await, Err(StoreError::NotFound { .. })));
}

async fn spatial_queries_find_what_lies_inside(store: &SqlStore) {
    seed(store).await;
    let all = Jurisdiction::everywhere();
    let codes = |page: Page<linli_domain::Region>| page.items.into_iter().map(|r| r.code).collect::<Vec<_>>();
    let bbox = BBox::parse("bbox", "116.315,40.065,116.325,40.075").unwrap();
    let filter = RegionFilter { spatial: SpatialFilter { bbox: Some(bbox), near: None }, ..Default::default() };
    assert_eq!(codes(store.list_regions(&all, &filter, &PageRequest::default()).await.unwrap()), ["c1", "b1", "d1"]);
    let near = linli_domain::geo::Near::parse("near", "116.321,40.071", 200.0).unwrap();
    let filter = RegionFilter { level: Some(Level::Dwelling), spatial: SpatialFilter { bbox: None, near: Some(near) }, ..Default::default() };
    assert_eq!(codes(store.list_regions(&all, &filter, &PageRequest::default()).await.unwrap()), ["d1"]);
    // b2 is about 2.03 km from b1: inside 2.5 km, outside 1.5 km.
    for (radius, expected) in [(2500.0, vec!["b1", "b2"]), (1500.0, vec!["b1"])] {
        let near = linli_domain::geo::Near::parse("near", "116.321,40.071", radius).unwrap();
        let filter = RegionFilter { level: Some(Level::Building), spatial: SpatialFilter { bbox: None, near: Some(near) }, ..Default::default() };
        assert_eq!(codes(store.list_regions(&all, &filter, &PageRequest::default()).await.unwrap()), expected);
    }
    let filter = RegionFilter { q: Some("c2".into()), ..Default::default() };
    assert_eq!(codes(store.list_regions(&all, &filter, &PageRequest::default()).await.unwrap()), ["c2"]);
    // West and south of zero, where flooring and truncating differ.
    store.create_region(&all, &region("south", "building", Some("c1"), Some((-0.0005, -0.0015)))).await.unwrap();
    for (bbox, expected) in [("-0.001,-0.002,0,-0.001", vec!["south"]), ("-0.0004,-0.002,0,0", vec![]), ("-0.0005,-0.0015,-0.0005,-0.0015", vec!["south"])] {
        let filter = RegionFilter { spatial: SpatialFilter { bbox: Some(BBox::parse("bbox", bbox).unwrap()), near: None }, ..Default::default() };
        assert_eq!(codes(store.list_regions(&all, &filter, &PageRequest::default()).await.unwrap()), expected, "{bbox}");
    }
}

/// A spatial list pages in id order through every match once, also where most candidates of the
/// spatial index lie outside the jurisdiction (the SQLite path then draws several chunks).
async fn spatial_pages_walk_every_match_once(store: &SqlStore) {
    seed(store).await;
    let all = Jurisdiction::everywhere();
    // A building of c2 standing on the same spot as b1, its 30 dwellings created first.
    store.create_region(&all, &region("b3", "building", Some("c2"), Some((116.321, 40.071)))).await.unwrap();
    for n in 0..30 {
        store.create_region(&all, &region(&format!("x{n}"), "dwelling", Some("b3"), None)).await.unwrap();
    }
    for n in 0..10 {
        store.create_region(&all, &region(&format!("y{n}"), "dwelling", Some("b1"), None)).await.unwrap();
    }
    let c1 = store.jurisdiction(Some("c1")).await.unwrap();
    let bbox = BBox::parse("bbox", "116.315,40.065,116.325,40.075").unwrap();
    let filter = RegionFilter { level: Some(Level::Dwelling), spatial: SpatialFilter { bbox: Some(bbox), near: None }, ..Default::default() };
    let walk = |scope: Jurisdiction, limit: u32| {
        let filter = filter.clone();
        async move {
            let mut page = PageRequest::first(limit);
            let mut seen = Vec::new();
            loop {
                let got = store.list_regions(&scope, &filter, &page).await.unwrap();
                assert!(got.items.len() <= limit as usize);
                seen.extend(got.items.into_iter().map(|r| r.code));
                match got.next_cursor {
                    Some(cursor) => page.after = Some(cursor),
                    None => return seen,
                }
            }
        }
    };
    let mine: Vec<String> = std::iter::once("d1".to_string()).chain((0..10).map(|n| format!("y{n}"))).collect();
    assert_eq!(walk(c1.clone(), 3).await, mine);
    assert_eq!(walk(c1, 50).await, mine);
    let everything = walk(all.clone(), 7).await;
    assert_eq!(everything.len(), 41);
    // Boxes of too many cells for PostgreSQL to visit one by one (its latitude bands), and too
    // tall for bands (SP-GiST), find the same, and d2 too.
    let bands = BBox::parse("bbox", "116.0,40.0,117.0,40.2").unwrap();
    let filter_bands = RegionFilter { spatial: SpatialFilter { bbox: Some(bands), near: None }, ..filter.clone() };
    assert_eq!(store.list_regions(&all, &filter_bands, &PageRequest::first(100)).await.unwrap().items.len(), 42);
    let wide = BBox::parse("bbox", "100,10,130,50").unwrap();
    let filter_wide = RegionFilter { spatial: SpatialFilter { bbox: Some(wide), near: None }, ..filter.clone() };
    assert_eq!(store.list_regions(&all, &filter_wide, &PageRequest::first(100)).await.unwrap().items.len(), 42, "d2 too");
    assert_eq!(everything[..2], ["d1", "x0"]);
    // A small box of every level is read cell by cell too (on SQLite: dwellings in id order and
    // the regions above them sorted, two branches a cell); paging runs through both.
    let small = BBox::parse("bbox", "116.3205,40.0705,116.3215,40.0715").unwrap();
    let every_level = RegionFilter { spatial: SpatialFilter { bbox: Some(small), near: None }, ..Default::default() };
    let dwellings_only = RegionFilter { level: Some(Level::Dwelling), ..every_level.clone() };
    let walk_filter = |filter: RegionFilter, limit: u32| {
        let all = all.clone();
        async move {
            let (mut page, mut seen) = (PageRequest::first(limit), Vec::new());
            loop {
                let got = store.list_regions(&all, &filter, &page).await.unwrap();
                seen.extend(got.items.into_iter().map(|r| r.code));
                match got.next_cursor {
                    Some(cursor) => page.after = Some(cursor),
                    None => return seen,
                }
            }
        }
    };
    let paged = walk_filter(every_level.clone(), 3).await;
    assert_eq!(paged, walk_filter(every_level, 200).await);
    let dwellings = walk_filter(dwellings_only, 4).await;
    assert_eq!(dwellings.len(), 41);
    assert_eq!(paged.iter().filter(|code| dwellings.contains(code)).cloned().collect::<Vec<_>>(), dwellings, "dwellings in id order among the rest");
    for building in ["b1", "b3"] {
        assert!(paged.iter().any(|code| code == building), "{building} in {paged:?}");
    }
    assert!(paged.iter().position(|c| c == "b3").unwrap() < paged.iter().position(|c| c == "x0").unwrap(), "b3 made before its dwellings");
    let bad = store.list_regions(&all, &filter, &PageRequest { after: Some("/1/2".into()), ..PageRequest::first(5) }).await.unwrap_err();
    assert!(matches!(&bad, StoreError::Invalid(i) if i.0[0].field == "cursor"), "{bad:?}");
}

/// `q` finds a substring of a name or code, case-insensitively, through the trigram index where
/// the term is long enough and by a scan where it is not; renames and deletions are followed.
async fn name_search_finds_substrings(store: &SqlStore) {
    seed(store).await;
    let all = Jurisdiction::everywhere();
    let named = |code: &str, name: &str, parent: &str| {
        NewRegion::parse(RegionInput { code: Some(code), level: Some("building"), name: Some(name), parent_code: Some(parent), ..Default::default() }).unwrap()
    };
    store.create_region(&all, &named("HLG-A1", "回龙观东大街1号楼", "c1")).await.unwrap();
    store.create_region(&all, &named("hlg-a2", "龙泽苑西区2号楼", "c1")).await.unwrap();
    store.create_region(&all, &named("odd", "50%_\"引号\"楼", "c2")).await.unwrap();
    let search = |q: &str| {
        let filter = RegionFilter { q: Some(q.to_string()), ..Default::default() };
        let all = all.clone();
        async move {
            let mut codes = store.list_regions(&all, &filter, &PageRequest::default()).await.unwrap().items.into_iter().map(|r| r.code).collect::<Vec<_>>();
            codes.sort();
            codes
        }
    };
    assert_eq!(search("东大街").await, ["HLG-A1"]);
    assert_eq!(search("hlg-a").await, ["HLG-A1", "hlg-a2"], "codes, either case");
    assert_eq!(search("号楼").await, ["HLG-A1", "hlg-a2"], "two characters: a scan finds the same");
    assert_eq!(search("%_\"").await, ["odd"], "wildcards and quotes are plain text");
    assert!(search("不存在的楼").await.is_empty());
    let c1 = store.jurisdiction(Some("c1")).await.unwrap();
    let filter = RegionFilter { q: Some("号楼".into()), ..Default::default() };
    assert_eq!(store.list_regions(&c1, &filter, &PageRequest::first(1)).await.unwrap().items.len(), 1);

    store.update_region(&all, "HLG-A1", &RegionPatch { name: Some("天通苑北1号楼".into()), ..Default::default() }).await.unwrap();
    assert!(search("东大街").await.is_empty(), "the old name is gone");
    assert_eq!(search("天通苑北").await, ["HLG-A1"]);
    store.delete_region(&all, "hlg-a2").await.unwrap();
    assert!(search("龙泽苑西").await.is_empty());
}

async fn pagination_walks_every_record_once(store: &SqlStore) {
    seed(store).await;
    let all = Jurisdiction::everywhere();
    let mut page = PageRequest::first(3);
    let mut seen = Vec::new();
    loop {
        let got = store.list_regions(&all, &RegionFilter::default(), &page).await.unwrap();
        assert!(got.items.len() <= 3);
        seen.extend(got.items.into_iter().map(|r| r.code));
        match got.next_cursor {
            Some(cursor) => page.after = Some(cursor),
            None => break,
        }
    }
    // Hierarchy order: each node followed by what lies below it.
    assert_eq!(seen, ["cp", "hlg", "c1", "b1", "d1", "c2", "b2", "d2"]);
    let bad = PageRequest { limit: 3, after: Some("not-a-cursor".into()) };
    assert!(matches!(store.list_regions(&all, &RegionFilter::default(), &bad).await, Err(StoreError::Invalid(_))));

    // Residents page in hierarchy order too, across several homes, each exactly once.
    let people: Vec<(usize, NewResident)> =
        (0..7).map(|i| (i + 2, resident(&format!("居民{i}"), &format!("11011419900307{:04}", i), if i % 2 == 0 { "d2" } else { "d1" }))).collect();
    store.import(&all, &ImportBatch::Residents(people)).await.unwrap();
    let mut page = PageRequest::first(2);
    let mut names = Vec::new();
    loop {
        let got = store.list_residents(&all, &ResidentFilter::default(), &page).await.unwrap();
        names.extend(got.items.into_iter().map(|r| r.name));
        match got.next_cursor {
            Some(cursor) => page.after = Some(cursor),
            None => break,
        }
    }
    assert_eq!(names, ["居民1", "居民3", "居民5", "居民0", "居民2", "居民4", "居民6"]);
}

async fn residents_link_dwellings_and_filter(store: &SqlStore) {
    seed(store).await;
    let all = Jurisdiction::everywhere();
    let zhang = store.create_resident(&all, &resident("张三", "110114199003071234", "d1")).await.unwrap();
    assert_eq!(zhang.care_tags[0].0, "elderly_alone");
    assert_eq!(zhang.birth_date.as_deref(), Some("1990-03-07"));
    let dup = store.create_resident(&all, &resident("张三丰", "110114199003071234", "d2")).await.unwrap_err();
    assert!(matches!(dup, StoreError::Conflict(_)));
    let missing = store.create_resident(&all, &resident("王五", "110114199003071250", "nowhere")).await.unwrap_err();
    assert!(matches!(&missing, StoreError::Invalid(i) if i.0[0].field == "dwelling_code"));

    let linked = store.link_dwelling(&all, zhang.id, "d2", DwellingRelation::Owner).await.unwrap();
    assert_eq!(linked.dwellings.len(), 2);
    assert_eq!(linked.dwellings[1].dwelling_code, "d2");
    let unlinked = store.unlink_dwelling(&all, zhang.id, "d2").await.unwrap();
    assert_eq!(unlinked.dwellings.len(), 1);

    let tag = linli_domain::CareTag::parse("care_tag", "elderly_alone").unwrap();
    let by_tag = store.list_residents(&all, &ResidentFilter { care_tag: Some(tag), ..Default::default() }, &PageRequest::default()).await.unwrap();
    assert_eq!(by_tag.items.len(), 1);
    let by_name = store.list_residents(&all, &ResidentFilter { q: Some("三".into()), ..Default::default() }, &PageRequest::default()).await.unwrap();
    assert_eq!(by_name.items.len(), 1);
    let patched = store
        .update_resident(&all, zhang.id, &ResidentPatch { phone: Some(Some("13900001111".into())), home_code: Some("d2".into()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!((patched.phone.as_deref(), patched.home_code.as_str()), (Some("13900001111"), "d2"));
    store.delete_resident(&all, zhang.id).await.unwrap();
    assert!(matches!(store.get_resident(&all, zhang.id).await, Err(StoreError::NotFound { .. })));
}

async fn import_is_all_or_nothing_with_every_bad_row(store: &SqlStore) {
    seed(store).await;
    let all = Jurisdiction::everywhere();
    let batch = ImportBatch::Regions(vec![
        (2, region("u1", "unit", Some("b1"), None)),
        (3, region("u2", "unit", Some("missing"), None)),
        (4, region("u1", "unit", Some("b1"), None)),
        (5, region("x1", "unit", Some("x2"), None)),
        (6, region("x2", "unit", Some("x1"), None)),
        (7, region("b1", "building", Some("c1"), None)),
        (8, region("s1", "street", Some("b1"), None)),
    ]);
    let StoreError::Import(errors) = store.import(&all, &batch).await.unwrap_err() else { panic!("expected row errors") };
    let rows: Vec<usize> = errors.iter().map(|e| e.row).collect();
    assert!(rows.contains(&3) && rows.contains(&4) && rows.contains(&5) && rows.contains(&6) && rows.contains(&7) && rows.contains(&8), "{errors:?}");
    assert!(!rows.contains(&2));
    assert!(errors.iter().any(|e| e.row == 5 && e.message.contains("cycle")));
    assert!(matches!(store.get_region(&all, "u1").await, Err(StoreError::NotFound { .. })), "nothing half-written");

    let people = ImportBatch::Residents(vec![
        (2, resident("甲", "110114199003071234", "d1")),
        (3, resident("乙", "110114199003071234", "d1")),
        (4, resident("丙", "110114199003071242", "zz")),
    ]);
    let StoreError::Import(errors) = store.import(&all, &people).await.unwrap_err() else { panic!() };
    assert_eq!(errors.iter().map(|e| e.row).collect::<Vec<_>>(), [3, 4]);
    assert_eq!(store.counts(&all).await.unwrap().residents, 0);

    let c1 = store.jurisdiction(Some("c1")).await.unwrap();
    let outside = ImportBatch::Regions(vec![(2, region("u9", "unit", Some("b2"), None))]);
    assert!(matches!(store.import(&c1, &outside).await, Err(StoreError::Import(_))));
}

async fn import_places_children_after_parents(store: &SqlStore) {
    seed(store).await;
    let all = Jurisdiction::everywhere();
    // Children listed before their parents, all in one file.
    let mut rows = Vec::new();
    for i in 0..30 {
        rows.push((i + 2, region(&format!("d-{i}"), "dwelling", Some(&format!("u-{}", i % 3)), None)));
    }
    for u in 0..3 {
        rows.push((40 + u, region(&format!("u-{u}"), "unit", Some("b-new"), None)));
    }
    rows.push((50, region("b-new", "building", Some("c2"), Some((116.35, 40.09)))));
    let summary = store.import(&all, &ImportBatch::Regions(rows)).await.unwrap();
    assert_eq!(summary.inserted, 34);
    let c2 = store.jurisdiction(Some("c2")).await.unwrap();
    let dwellings = store.list_regions(&c2, &RegionFilter { level: Some(Level::Dwelling), ..Default::default() }, &PageRequest::first(100)).await.unwrap();
    assert_eq!(dwellings.items.len(), 31);
    assert_eq!(store.get_region(&all, "d-7").await.unwrap().position.unwrap().lon, 116.35);
    let people: Vec<(usize, NewResident)> =
        (0..30).map(|i| (i + 2, resident(&format!("居民{i}"), &format!("11011419900307{:04}", i), &format!("d-{i}")))).collect();
    assert_eq!(store.import(&all, &ImportBatch::Residents(people)).await.unwrap().inserted, 30);
    assert_eq!(store.counts(&c2).await.unwrap().residents, 30);
}

async fn organisations_and_devices(store: &SqlStore) {
    seed(store).await;
    let all = Jurisdiction::everywhere();
    let org = |code: &str, kind: &str, region: &str, parent: Option<&str>| {
        NewOrganisation::parse(OrganisationInput {
            code: Some(code),
            name: Some(code),
            kind: Some(kind),
            region_code: Some(region),
            parent_code: parent,
            ..Default::default()
        })
        .unwrap()
    };
    store.create_organisation(&all, &org("dept.urban_mgmt", "department", "cp", None)).await.unwrap();
    store.create_organisation(&all, &org("pm.c1", "物业", "c1", None)).await.unwrap();
    let batch =
        ImportBatch::Organisations(vec![(2, org("pm.c2", "property_company", "c2", Some("pm.c2.hq"))), (3, org("pm.c2.hq", "property_company", "hlg", None))]);
    assert_eq!(store.import(&all, &batch).await.unwrap().inserted, 2);
    assert_eq!(store.get_organisation(&all, "pm.c2").await.unwrap().parent_code.as_deref(), Some("pm.c2.hq"));

    // A community sees its own organisations and those serving the area above it.
    let c1 = store.jurisdiction(Some("c1")).await.unwrap();
    let mut visible: Vec<String> =
        store.list_organisations(&c1, &OrganisationFilter::default(), &PageRequest::default()).await.unwrap().items.into_iter().map(|o| o.code).collect();
    visible.sort();
    assert_eq!(visible, ["dept.urban_mgmt", "pm.c1", "pm.c2.hq"]);
    assert!(matches!(store.get_organisation(&c1, "pm.c2").await, Err(StoreError::OutOfScope { .. })));

    let device = |code: &str, kind: &str, region: &str| {
        NewDevice::parse(DeviceInput {
            code: Some(code),
            name: Some(code),
            kind: Some(kind),
            region_code: Some(region),
            owner_org_code: Some("pm.c1"),
            ..Default::default()
        })
        .unwrap()
    };
    let cam = store.create_device(&all, &device("cam-1", "camera", "b1")).await.unwrap();
    assert_eq!(cam.position.unwrap().lat, 40.071);
    assert_eq!(cam.owner_org_code.as_deref(), Some("pm.c1"));
    let batch = ImportBatch::Devices(vec![(2, device("bin-1", "smart_bin", "b2")), (3, device("cam-1", "camera", "b1"))]);
    assert!(matches!(store.import(&all, &batch).await, Err(StoreError::Import(e)) if e.len() == 1 && e[0].row == 3));
    store.import(&all, &ImportBatch::Devices(vec![(2, device("bin-1", "smart_bin", "b2"))])).await.unwrap();
    let filter = DeviceFilter { kind: Some(linli_domain::DeviceKind::SmartBin), ..Default::default() };
    assert_eq!(store.list_devices(&all, &filter, &PageRequest::default()).await.unwrap().items.len(), 1);
    assert_eq!(store.list_devices(&c1, &DeviceFilter::default(), &PageRequest::default()).await.unwrap().items.len(), 1);
    let near_cam = linli_domain::geo::Near::parse("near", "116.321,40.071", 100.0).unwrap();
    let spatial = DeviceFilter { spatial: SpatialFilter { bbox: None, near: Some(near_cam) }, ..Default::default() };
    let found: Vec<String> = store.list_devices(&all, &spatial, &PageRequest::default()).await.unwrap().items.into_iter().map(|d| d.code).collect();
    assert_eq!(found, ["cam-1"]);
    let bbox = BBox::parse("bbox", "116.33,40.07,116.35,40.09").unwrap();
    let spatial = DeviceFilter { spatial: SpatialFilter { bbox: Some(bbox), near: None }, ..Default::default() };
    let found: Vec<String> = store.list_devices(&all, &spatial, &PageRequest::default()).await.unwrap().items.into_iter().map(|d| d.code).collect();
    assert_eq!(found, ["bin-1"]);
    let updated = store
        .update_device(
            &all,
            "cam-1",
            &DevicePatch { status: Some(linli_domain::DeviceStatus::Online), last_seen_at: Some(1_700_000_000_000), ..Default::default() },
        )
        .await
        .unwrap();
    assert_eq!(updated.status, linli_domain::DeviceStatus::Online);
    assert!(matches!(store.delete_organisation(&all, "pm.c1").await, Err(StoreError::Conflict(_))));
}

async fn users_tokens_and_audit(store: &SqlStore) {
    seed(store).await;
    let user = store
        .create_user(&NewUser {
            username: "gw".into(),
            display_name: "网格员".into(),
            password_hash: "h".into(),
            role: Role::GridWorker,
            region_code: Some("c1".into()),
            org_code: None,
        })
        .await
        .unwrap();
    assert_eq!(user.region_code.as_deref(), Some("c1"));
    let taken = store
        .create_user(&NewUser {
            username: "gw".into(),
            display_name: "x".into(),
            password_hash: "h".into(),
            role: Role::Admin,
            region_code: None,
            org_code: None,
        })
        .await
        .unwrap_err();
    assert!(matches!(taken, StoreError::Conflict(_)));
    let (found, hash) = store.find_user("gw").await.unwrap().unwrap();
    assert_eq!((found.id, hash.as_str()), (user.id, "h"));

    store
        .insert_token(&NewToken {
            token_hash: "t1".into(),
            user_id: user.id,
            kind: TokenKind::Session,
            name: "login".into(),
            created_at: 0,
            expires_at: Some(1000),
        })
        .await
        .unwrap();
    assert!(store.token_user("t1", 999).await.unwrap().is_some());
    assert!(store.token_user("t1", 1000).await.unwrap().is_none(), "expired");
    store
        .insert_token(&NewToken { token_hash: "t2".into(), user_id: user.id, kind: TokenKind::Api, name: "int".into(), created_at: 0, expires_at: None })
        .await
        .unwrap();
    assert_eq!(store.token_user("t2", i64::MAX).await.unwrap().unwrap().1, TokenKind::Api);
    store.revoke_token("t2", 5).await.unwrap();
    assert!(store.token_user("t2", 6).await.unwrap().is_none());
    store.update_user(user.id, &UserPatch { disabled: Some(true), ..Default::default() }).await.unwrap();
    store
        .insert_token(&NewToken { token_hash: "t3".into(), user_id: user.id, kind: TokenKind::Api, name: "x".into(), created_at: 0, expires_at: None })
        .await
        .unwrap();
    assert!(store.token_user("t3", 1).await.unwrap().is_none(), "disabled users hold no live tokens");

    let c2 = store.jurisdiction(Some("c2")).await.unwrap();
    assert!(store.list_users(&c2, &PageRequest::default()).await.unwrap().items.is_empty());
    assert_eq!(store.list_users(&Jurisdiction::everywhere(), &PageRequest::default()).await.unwrap().items.len(), 1);

    let entry = |id: &str| AccessEntry {
        at: 10,
        user_id: user.id,
        username: "gw".into(),
        role: "grid_worker".into(),
        record_kind: "resident".into(),
        record_id: id.into(),
        action: "read".into(),
        request_id: Some("r".into()),
    };
    store.record_access(&[entry("1"), entry("2")]).await.unwrap();
    let got = store.list_access(&AccessFilter { record_id: Some("2".into()), ..Default::default() }, &PageRequest::default()).await.unwrap();
    assert_eq!(got.items, vec![entry("2")]);
}

/// An order opened at the district at `at`, dispatched to `c1`, accepted and resolved, with its history.
fn played_order(at: i64, region: &str) -> ImportedOrder {
    use linli_domain::governance::order::{apply, open_order, ActionContext, ActorRef, Command, HistoryEntry, OrderSeed};
    use linli_domain::governance::{calendar::BusinessCalendar, event::Reporter, settings::TimeLimits, taxonomy, EventSource, Unit, UnitKind};
    let categories = taxonomy::default_taxonomy();
    let region_unit = |code: &str| Unit { kind: UnitKind::Region, code: code.into(), name: code.into() };
    let (limits, calendar) = (TimeLimits::default(), BusinessCalendar::new([]));
    let seed = OrderSeed {
        title: "停水".into(),
        description: String::new(),
        category: &categories[0],
        urgency: None,
        source: EventSource::Hotline12345,
        proactive: false,
        region_code: region.into(),
        event: None,
        requester: Reporter { name: None, phone: None, user_id: None },
        holder: region_unit("cp"),
        suggested_org_code: None,
    };
    let mut order = open_order(seed, &limits, &calendar, at);
    let mut history = vec![HistoryEntry::new(at, "created", None)];
    for (minutes, command) in [
        (10, Command::Dispatch { to: region_unit("c1"), note: None }),
        (20, Command::Accept { note: None }),
        (30, Command::Resolve { result: "修好了".into(), attachments: Vec::new() }),
    ] {
        let ctx = ActionContext {
            now: at + minutes * 60_000,
            actor: ActorRef { user_id: 1, username: "x".into(), role: Role::Admin },
            limits: &limits,
            calendar: &calendar,
        };
        let (next, entry) = apply(&order, command, &ctx).unwrap();
        order = next;
        history.push(entry);
    }
    ImportedOrder { order, history }
}

async fn imported_orders_keep_their_history_and_count(store: &SqlStore) {
    seed(store).await;
    let all = Jurisdiction::everywhere();
    let t0 = 1_780_000_000_000;
    // Every bad row is named and nothing is written.
    let mut bad_history = played_order(t0, "c1");
    bad_history.history.swap(1, 2);
    let mut unknown_holder = played_order(t0, "c1");
    unknown_holder.order.chain.push(linli_domain::governance::Unit {
        kind: linli_domain::governance::UnitKind::Organisation,
        code: "dept.nowhere".into(),
        name: String::new(),
    });
    let batch = ImportBatch::Orders(vec![(2, played_order(t0, "c1")), (3, played_order(t0, "zz")), (4, bad_history), (5, unknown_holder)]);
    let Err(StoreError::Import(errors)) = store.import(&all, &batch).await else { panic!("bad rows must fail the import") };
    let named: Vec<(usize, &str)> = errors.iter().map(|e| (e.row, e.field.as_str())).collect();
    assert_eq!(named, [(3, "region_code"), (4, "history"), (5, "chain")]);
    assert_eq!(store.list_orders(&all, &OrderFilter::default(), &PageRequest::default()).await.unwrap().items.len(), 0);
    // Outside the importer's jurisdiction.
    let c2 = store.jurisdiction(Some("c2")).await.unwrap();
    assert!(matches!(store.import(&c2, &ImportBatch::Orders(vec![(2, played_order(t0, "c1"))])).await, Err(StoreError::Import(_))));

    let rows: Vec<_> = (0..3).map(|i| (i + 2, played_order(t0 + i as i64 * 3_600_000, if i == 2 { "c2" } else { "c1" }))).collect();
    assert_eq!(store.import(&all, &ImportBatch::Orders(rows.clone())).await.unwrap().inserted, 3);
    let listed = store.list_orders(&all, &OrderFilter::default(), &PageRequest::default()).await.unwrap().items;
    assert_eq!(listed.len(), 3);
    let (_, first) = &rows[0];
    let stored = &listed[2];
    assert_eq!(WorkOrder { id: first.order.id, ..stored.clone() }, first.order);
    let history = store.history("order", stored.id).await.unwrap();
    assert_eq!(history.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert_eq!(history.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["created", "dispatch", "accept", "resolve"]);
    // The rates count them; an order created afterwards gets an id of its own.
    let query = RateQuery { within_code: Some("c1".into()), org_code: None, from: t0, to: t0 + 86_400_000, now: t0 + 86_400_000 };
    let counts = store.rate_counts(&all, &query).await.unwrap();
    assert_eq!((counts.orders, counts.responded_on_time), (2, 2));
    let fresh = store.create_order(&all, &played_order(t0, "c1").order, &[], None).await.unwrap();
    assert!(listed.iter().all(|o| o.id < fresh.id));
    let queue = OrderFilter { holder_key: Some("region:c1".into()), ..Default::default() };
    assert_eq!(store.list_orders(&all, &queue, &PageRequest::default()).await.unwrap().items.len(), 4);
}

/// One prepared statement serves rows with and without coordinates, in either order: the
/// second 500-row chunk of an import reuses the first one's statement.
async fn missing_and_present_coordinates_share_a_statement(store: &SqlStore) {
    let all = Jurisdiction::everywhere();
    for (district, first_placed) in [("x", false), ("y", true)] {
        // Two full chunks (the same statement text): the first one's first row has coordinates
        // or not, the second one's the opposite.
        let place = |placed: bool, i: usize| placed.then_some((116.0 + i as f64 * 0.001, 40.0));
        let mut rows = vec![(1, region(district, "district", None, place(first_placed, 0)))];
        rows.extend((1..1000).map(|i| (i + 1, region(&format!("{district}{i}"), "street", Some(district), place(first_placed == (i < 500), i)))));
        assert_eq!(store.import(&all, &ImportBatch::Regions(rows)).await.unwrap().inserted, 1000);
    }
    assert_eq!(store.get_region(&all, "x999").await.unwrap().position.map(|p| p.lon), Some(116.999));
    assert_eq!(store.get_region(&all, "y499").await.unwrap().position.map(|p| p.lon), Some(116.499));
}

async fn telemetry_latest_series_rule_states_and_dead_letters(store: &SqlStore) {
    use linli_domain::sensing::{Reading, ReadingValue, RuleState};
    seed(store).await;
    let all = Jurisdiction::everywhere();
    let bin = NewDevice::parse(DeviceInput { code: Some("bin-1"), name: Some("bin"), kind: Some("smart_bin"), region_code: Some("b1"), ..Default::default() })
        .unwrap();
    store.create_device(&all, &bin).await.unwrap();
    store.update_device(&all, "bin-1", &DevicePatch { status: Some(linli_domain::DeviceStatus::Offline), ..Default::default() }).await.unwrap();
    let t0 = 1_780_000_000_000;
    let reading = |at: i64, name: &str, value: ReadingValue| Reading { name: name.into(), at, value, unit: None };
    let raised = RuleState { raised: true, seen_at: Some(t0), last_value: Some(ReadingValue::Number(0.95)), changed_at: Some(t0) };
    let first = DeviceTelemetry {
        device_code: "bin-1".into(),
        readings: vec![
            reading(t0, "fillingLevel", ReadingValue::Number(0.5)),
            reading(t0 + 60_000, "fillingLevel", ReadingValue::Number(0.95)),
            reading(t0, "lidOpen", ReadingValue::Bool(true)),
            reading(t0, "state", ReadingValue::Text("ok".into())),
        ],
        rule_states: vec![("bin_full".into(), RuleState::default())],
        seen_at: Some(t0 + 60_000),
    };
    store.record_telemetry(&[first]).await.unwrap();
    // A late reading joins the series but does not replace the newer latest value.
    let late = DeviceTelemetry {
        device_code: "bin-1".into(),
        readings: vec![reading(t0 + 30_000, "fillingLevel", ReadingValue::Number(0.7))],
        rule_states: vec![("bin_full".into(), raised.clone())],
        seen_at: Some(t0 + 30_000),
    };
    store.record_telemetry(std::slice::from_ref(&late)).await.unwrap();
    // Delivered again (a redelivery, a second node): kept once.
    store.record_telemetry(&[late]).await.unwrap();
    let latest = store.latest_telemetry("bin-1").await.unwrap();
    let fill = latest.iter().find(|r| r.name == "fillingLevel").unwrap();
    assert_eq!((fill.at, &fill.value), (t0 + 60_000, &ReadingValue::Number(0.95)));
    assert_eq!(latest.len(), 3);
    assert_eq!(store.rule_states("bin-1").await.unwrap(), [("bin_full".to_string(), raised)]);
    let device = store.get_device(&all, "bin-1").await.unwrap();
    assert_eq!((device.status, device.last_seen_at), (linli_domain::DeviceStatus::Online, Some(t0 + 60_000)));

    let query = SeriesQuery {
        device_codes: vec!["bin-1".into()],
        name: "fillingLevel".into(),
        from: t0,
        to: t0 + 120_000,
        bucket_ms: 60_000,
        aggregate: Aggregate::Max,
    };
    let series = store.telemetry_series(&query).await.unwrap();
    let points: Vec<(i64, Option<f64>, i64)> = series.iter().map(|p| (p.at - t0, p.value, p.count)).collect();
    assert_eq!(points, [(0, Some(0.7), 2), (60_000, Some(0.95), 1)]);
    let avg = store.telemetry_series(&SeriesQuery { aggregate: Aggregate::Avg, bucket_ms: 120_000, ..query.clone() }).await.unwrap();
    assert!((avg[0].value.unwrap() - (0.5 + 0.7 + 0.95) / 3.0).abs() < 1e-9);

    // Retention: raw readings become hourly roll-ups, and series read on through them.
    let hour = t0 / 3_600_000 * 3_600_000;
    let compacted = store.compact_telemetry(hour + 2 * 3_600_000, 0).await.unwrap();
    assert_eq!(compacted, linli_store::Compaction { readings_removed: 5, hours_removed: 0 });
    let hourly = SeriesQuery { from: hour, to: hour + 2 * 3_600_000, bucket_ms: 2 * 3_600_000, ..query.clone() };
    let points = store.telemetry_series(&hourly).await.unwrap();
    assert_eq!(points.iter().map(|p| (p.value, p.count)).collect::<Vec<_>>(), [(Some(0.95), 3)]);
    let avg = store.telemetry_series(&SeriesQuery { aggregate: Aggregate::Avg, ..hourly.clone() }).await.unwrap();
    assert!((avg[0].value.unwrap() - (0.5 + 0.7 + 0.95) / 3.0).abs() < 1e-9);
    // A late reading for a compacted hour adds to its roll-up.
    let straggler = DeviceTelemetry {
        device_code: "bin-1".into(),
        readings: vec![reading(t0 + 1, "fillingLevel", ReadingValue::Number(0.1))],
        rule_states: vec![],
        seen_at: None,
    };
    store.record_telemetry(&[straggler]).await.unwrap();
    store.compact_telemetry(hour + 2 * 3_600_000, 0).await.unwrap();
    let points = store.telemetry_series(&SeriesQuery { aggregate: Aggregate::Min, ..hourly.clone() }).await.unwrap();
    assert_eq!(points.iter().map(|p| (p.value, p.count)).collect::<Vec<_>>(), [(Some(0.1), 4)]);
    let expired = store.compact_telemetry(hour + 2 * 3_600_000, hour + 2 * 3_600_000).await.unwrap();
    assert_eq!(expired.hours_removed, 2, "fillingLevel and lidOpen roll-ups");
    assert!(store.telemetry_series(&hourly).await.unwrap().is_empty());

    for reason in ["not JSON", "unknown device"] {
        let letter = DeadLetter {
            id: 0,
            at: t0,
            source: "mqtt:linli/v1/devices/x/telemetry".into(),
            device_code: Some("x".into()),
            reason: reason.into(),
            payload: "{".into(),
        };
        store.record_dead_letter(&letter).await.unwrap();
    }
    let letters = store.list_dead_letters(None, 10).await.unwrap();
    assert_eq!(letters.iter().map(|l| l.reason.as_str()).collect::<Vec<_>>(), ["unknown device", "not JSON"]);
    assert_eq!(store.list_dead_letters(Some(letters[0].id), 10).await.unwrap().len(), 1);
}
