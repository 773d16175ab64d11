//! Loads months of city-wide 12345 work-order history into a store, for the rates and queue
//! benchmarks (bench/orders.sh): the demo world's regions, organisations and devices, the other
//! fifteen districts, then ORDERS orders created evenly over DAYS days ending now (ORDERS 0 gives
//! just the world, as bench/ingest.sh uses it on PostgreSQL).
//!
//! cargo run --release -p linli-demo --example orders_history -- DATABASE [ORDERS] [DAYS] [--history]
//!
//! DATABASE is a SQLite path or a postgres:// URL. `--history` also writes each order's history
//! entries (about eight rows an order).
use linli_demo::history::{city_regions, HistoryPlan, OrderHistory};
use linli_store::{ImportBatch, Jurisdiction, SqlStore, Store};

/// Orders per import transaction: big enough to amortise the commit, small enough to report progress.
const BATCH: usize = 5_000;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--history").collect();
    let with_history = std::env::args().any(|a| a == "--history");
    let Some(database) = args.first() else {
        eprintln!("usage: orders_history DATABASE [ORDERS] [DAYS] [--history]");
        std::process::exit(2);
    };
    let orders: u64 = args.get(1).map(|n| n.parse()).transpose()?.unwrap_or(5_000_000);
    let days: u32 = args.get(2).map(|n| n.parse()).transpose()?.unwrap_or(85);
    let store = SqlStore::open(database).await?;
    let all = Jurisdiction::everywhere();

    let world = linli_demo::generate(1, 1_000);
    for batch in [&world.regions, &world.organisations, &world.devices, &city_regions()] {
        eprintln!("importing {} records", batch.len());
        store.import(&all, batch).await?;
    }
    let end_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64;
    let plan = HistoryPlan { seed: 1, orders, end_ms, days, with_history };
    let started = std::time::Instant::now();
    let mut history = OrderHistory::new(plan).enumerate().peekable();
    let mut written = 0;
    while history.peek().is_some() {
        let batch: Vec<_> = history.by_ref().take(BATCH).map(|(i, order)| (i + 1, order)).collect();
        written += store.import(&all, &ImportBatch::Orders(batch)).await?.inserted;
        if written % 500_000 == 0 || written == orders {
            let seconds = started.elapsed().as_secs_f64();
            eprintln!("{written} orders in {seconds:.0} s ({:.0} a second)", written as f64 / seconds);
        }
    }
    Ok(())
}
