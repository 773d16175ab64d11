//! `linli`: serve the platform, run the demo, import registry files, manage users.
mod config;
mod vision;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use linli_api::AppState;
use linli_api::{provision_user, UserBody};
use linli_store::{Jurisdiction, SqlStore, Store, UserPatch};

use crate::config::Config;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "linli", version, about = "Linli (邻里): smart-community governance platform")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API on the configured database.
    Serve(ServeArgs),
    /// Build the demo world (回天) into a fresh embedded database and serve it.
    Demo(DemoArgs),
    /// Import a CSV or GeoJSON file of regions, buildings, dwellings, residents, organisations or devices, all or nothing.
    Import(ImportArgs),
    /// Manage users: create, reset passwords, issue API tokens.
    #[command(subcommand)]
    User(UserCommand),
    /// Video analytics: objects thrown from height, synthetic clips, evaluation.
    #[command(subcommand)]
    Vision(vision::VisionCommand),
}

#[derive(Args, Clone)]
struct StorageArgs {
    /// TOML configuration file.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Directory of the embedded database and media.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// PostgreSQL URL (postgres://…); overrides the embedded database.
    #[arg(long)]
    database_url: Option<String>,
}

impl StorageArgs {
    /// The configuration with these flags applied (not yet validated).
    fn config(&self) -> anyhow::Result<Config> {
        let mut config = Config::load(self.config.as_deref())?;
        if let Some(dir) = &self.data_dir {
            config.storage.data_dir = dir.clone();
        }
        if let Some(url) = &self.database_url {
            config.storage.database_url = Some(url.clone());
        }
        Ok(config)
    }
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    storage: StorageArgs,
    /// Address to listen on, HOST:PORT (default 127.0.0.1:8080).
    #[arg(long)]
    listen: Option<String>,
    /// MQTT broker devices publish to, mqtt://HOST:PORT or mqtts://HOST:PORT (mqtt.url).
    #[arg(long)]
    mqtt: Option<String>,
    /// NATS server with JetStream, nats://HOST:PORT (nats.url): nodes sharing it and one
    /// PostgreSQL split the device stream.
    #[arg(long)]
    nats: Option<String>,
}

#[derive(Args)]
struct DemoArgs {
    /// Address to listen on, HOST:PORT (default 127.0.0.1:8080).
    #[arg(long)]
    listen: Option<String>,
    /// MQTT broker devices publish to, e.g. mqtt://127.0.0.1:1883.
    #[arg(long)]
    mqtt: Option<String>,
    /// Directory of the demo database and media (default data/demo); its demo database is rebuilt.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// TOML configuration file.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// About how many residents to generate (1,000 to 1,000,000; 回天 has about 850,000).
    #[arg(long, default_value_t = linli_demo::DEFAULT_RESIDENTS)]
    scale: u32,
    /// Seed of the generator: the same seed and scale give the same world.
    #[arg(long, default_value_t = 20_260_101)]
    seed: u64,
    /// Password of every demo user.
    #[arg(long, default_value = "linli-demo")]
    demo_password: String,
    /// Build the world and exit without serving.
    #[arg(long)]
    no_serve: bool,
}

#[derive(Args)]
struct ImportArgs {
    /// regions, buildings, dwellings, residents, organisations or devices.
    kind: String,
    /// The file; `.geojson`/`.json` are read as GeoJSON, anything else as CSV with a header row.
    file: PathBuf,
    /// Force the format instead of guessing from the file name.
    #[arg(long, value_parser = ["csv", "geojson"])]
    format: Option<String>,
    #[command(flatten)]
    storage: StorageArgs,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user bound to a region and/or organisation.
    Create {
        #[arg(long)]
        username: String,
        /// The password; read from LINLI_PASSWORD when omitted.
        #[arg(long, env = "LINLI_PASSWORD", hide_env_values = true)]
        password: String,
        /// One of the twelve roles, e.g. grid_worker, street_dispatcher, admin.
        #[arg(long)]
        role: String,
        #[arg(long)]
        display_name: Option<String>,
        /// Code of the node the user is bound to.
        #[arg(long)]
        region: Option<String>,
        /// Code of the user's organisation.
        #[arg(long)]
        org: Option<String>,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Set a new password (ends the user's sessions).
    ResetPassword {
        #[arg(long)]
        username: String,
        #[arg(long, env = "LINLI_PASSWORD", hide_env_values = true)]
        password: String,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Issue a long-lived API token for an integration; printed once.
    Token {
        #[arg(long)]
        username: String,
        /// What the token is for.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Days until it expires; never when omitted.
        #[arg(long)]
        expires_in_days: Option<u32>,
        #[command(flatten)]
        storage: StorageArgs,
    },
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    if let Err(error) = run(cli).await {
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let mut config = args.storage.config()?;
            if let Some(listen) = args.listen {
                config.server.listen = listen;
            }
            if let Some(url) = args.mqtt {
                config.mqtt.url = Some(url);
            }
            if let Some(url) = args.nats {
                config.nats.url = Some(url);
            }
            config.validate()?;
            init_logging(&config);
            let store = open_store(&config).await?;
            serve(&config, store).await
        }
        Command::Demo(args) => demo(args).await,
        Command::Import(args) => import(args).await,
        Command::User(command) => user(command).await,
        Command::Vision(command) => tokio::task::spawn_blocking(move || vision::run(command)).await?,
    }
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log.level));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).try_init();
}

async fn open_store(config: &Config) -> anyhow::Result<Arc<SqlStore>> {
    let store = match config.database_url() {
        Some(url) => SqlStore::connect_postgres(url, config.storage.schema.as_deref().filter(|s| !s.is_empty()), config.storage.max_connections).await,
        None => {
            std::fs::create_dir_all(&config.storage.data_dir).with_context(|| format!("cannot create data directory {}", config.storage.data_dir.display()))?;
            SqlStore::open_sqlite(&config.sqlite_path()).await
        }
    }
    .with_context(|| format!("cannot open the database ({})", config.database_label()))?;
    Ok(Arc::new(store))
}

async fn serve(config: &Config, store: Arc<SqlStore>) -> anyhow::Result<()> {
    // Evidence (photos, snapshots, clips) will live here whichever database holds the records.
    let media = config.storage.data_dir.join("media");
    std::fs::create_dir_all(&media).with_context(|| format!("cannot create media directory {}", media.display()))?;
    let listener = tokio::net::TcpListener::bind(config.listen_addr()?).await.with_context(|| format!("cannot listen on {}", config.server.listen))?;
    let address = listener.local_addr()?;
    let mut state = AppState::new(store.clone());
    state.session_ttl_ms = i64::from(config.auth.session_ttl_hours) * 3_600_000;
    state.media_dir = Arc::new(media);
    state.retention = linli_api::Retention { raw_days: config.telemetry.raw_retention_days, hourly_days: config.telemetry.hourly_retention_days };
    state.watch_cameras = config.cameras.watch;
    if let Some(mqtt) = config.mqtt_config() {
        let control = linli_bus::control::MqttControl::start(&mqtt, config.mqtt.provisioning).context("mqtt.url")?;
        if config.mqtt.provisioning {
            let control = control.clone();
            tokio::spawn(async move {
                if let Err(error) = control.prepare().await {
                    tracing::error!(%error, "preparing device provisioning on the broker failed");
                }
            });
        }
        state.broker = Some(control);
    }
    let (handovers, handed_over) = tokio::sync::watch::channel(0);
    if let Some(nats) = config.nats_config() {
        // Several nodes: one bridges the broker into JetStream, each processes its partitions.
        let (inbound, received) = tokio::sync::mpsc::channel(4_000);
        let (url, node) = (nats.url.clone(), nats.node_id.clone());
        let bus = linli_bus::nats::NatsBus::connect(nats).await.context("nats.url")?;
        tokio::spawn(bus.run(config.mqtt_config(), inbound, handovers));
        tokio::spawn(linli_api::sensing::run(state.clone(), received, handed_over));
        println!("linli node {node} sharing device messages over NATS JetStream at {url}");
    } else if let Some(mqtt) = config.mqtt_config() {
        // Bounded by what the broker may have in flight: when ingestion falls behind, the broker holds on.
        let (inbound, received) = tokio::sync::mpsc::channel(mqtt.channel_capacity());
        let url = mqtt.url.clone();
        let source = linli_bus::mqtt::MqttSource::build(mqtt).context("mqtt.url")?;
        tokio::spawn(source.run(inbound));
        tokio::spawn(linli_api::sensing::run(state.clone(), received, handed_over));
        println!("linli ingesting device messages from {url} (topics linli/v1/devices/+/telemetry|event|status)");
    }
    tracing::info!(address = %address, database = %config.database_label(), "linli serving");
    println!("linli listening on http://{address} (API under /api/v1, OpenAPI at /api/v1/openapi.json)");
    linli_api::serve(listener, state, shutdown_signal()).await?;
    store.close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
}

async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let mut config = Config::load(args.config.as_deref())?;
    config.storage.data_dir = args.data_dir.unwrap_or_else(|| PathBuf::from("data/demo"));
    // The demo always runs on the embedded default.
    config.storage.database_url = None;
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    if let Some(url) = args.mqtt {
        config.mqtt.url = Some(url);
    }
    config.validate()?;
    anyhow::ensure!(args.demo_password.chars().count() >= 8, "--demo-password must be at least 8 characters");
    anyhow::ensure!((1_000..=linli_demo::MAX_RESIDENTS).contains(&args.scale), "--scale must be between 1000 and {}", linli_demo::MAX_RESIDENTS);
    init_logging(&config);
    remove_demo_database(&config.sqlite_path())?;
    let started = std::time::Instant::now();
    let store = open_store(&config).await?;
    let world = linli_demo::generate(args.seed, args.scale);
    let everywhere = Jurisdiction::everywhere();
    for batch in [&world.regions, &world.organisations, &world.residents, &world.devices, &linli_demo::history::city_regions()] {
        store.import(&everywhere, batch).await.map_err(|e| anyhow::anyhow!("demo world failed to load: {e}"))?;
    }
    let history = seed_demo_history(&store, args.seed).await?;
    for demo_user in &world.users {
        let body = UserBody {
            username: demo_user.role.as_str().to_string(),
            password: args.demo_password.clone(),
            role: demo_user.role.as_str().to_string(),
            display_name: Some(demo_user.display_name.clone()),
            region_code: demo_user.region_code.clone(),
            org_code: demo_user.org_code.clone(),
        };
        provision_user(store.as_ref(), body).await.map_err(|e| anyhow::anyhow!("demo user {}: {}", demo_user.role, e.message))?;
    }
    let events = seed_demo_events(store.clone(), &world).await?;
    let counts = store.counts(&everywhere).await?;
    println!(
        "demo world built in {:.1}s: {} regions ({} dwellings), {} residents, {} organisations, {} devices",
        started.elapsed().as_secs_f64(),
        counts.regions,
        counts.dwellings,
        counts.residents,
        counts.organisations,
        counts.devices
    );
    println!("event centre: {history} city-wide 12345 orders of the last {HISTORY_DAYS} days, and {events} reports today merged into incidents and work orders; Open311 API key {DEMO_OPEN311_KEY:?}");
    println!("demo users (password {:?}):", args.demo_password);
    for demo_user in &world.users {
        println!(
            "  {:<20} {:<8} {}",
            demo_user.role.as_str(),
            demo_user.role.label_zh(),
            demo_user.region_code.as_deref().or(demo_user.org_code.as_deref()).unwrap_or("(everywhere)")
        );
    }
    if args.no_serve {
        store.close().await;
        return Ok(());
    }
    serve(&config, store).await
}

/// Days of 12345 history behind the demo (the cockpit's trends and rates).
const HISTORY_DAYS: u32 = 30;

/// Plays a month of city-wide 12345 orders through the loop (some still open, some late, most
/// resolved and called back) and imports them, so the cockpit has trends and rates from the start.
async fn seed_demo_history(store: &Arc<SqlStore>, seed: u64) -> anyhow::Result<u64> {
    use linli_demo::history::{HistoryPlan, OrderHistory};
    let end_ms = AppState::new(store.clone()).now();
    let plan = HistoryPlan { seed, orders: 12_000, end_ms, days: HISTORY_DAYS, with_history: true };
    let mut orders = OrderHistory::new(plan).enumerate().peekable();
    let mut written = 0;
    while orders.peek().is_some() {
        let batch: Vec<_> = orders.by_ref().take(2_000).map(|(i, order)| (i + 1, order)).collect();
        written += store
            .import(&Jurisdiction::everywhere(), &linli_store::ImportBatch::Orders(batch))
            .await
            .map_err(|e| anyhow::anyhow!("demo history failed to load: {e}"))?
            .inserted;
    }
    Ok(written)
}

/// The Open311 API key the demo world issues, so Open311 apps can post to it at once.
const DEMO_OPEN311_KEY: &str = "linli-demo-open311";

/// Feeds the demo's event centre: complaints, patrol findings and camera alarms spread over the
/// communities and categories, deterministic for a world. Returns how many were reported.
async fn seed_demo_events(store: Arc<SqlStore>, world: &linli_demo::World) -> anyhow::Result<usize> {
    let now = linli_api::AppState::new(store.clone()).now();
    store.create_api_key(&linli_api::auth::hash_token(DEMO_OPEN311_KEY), "demo Open311 apps", now).await?;
    let state = AppState::new(store);
    let linli_store::ImportBatch::Regions(regions) = &world.regions else { anyhow::bail!("demo regions missing") };
    let communities: Vec<_> = regions.iter().map(|(_, r)| r).filter(|r| r.level == linli_domain::Level::Community).collect();
    let taxonomy = linli_domain::governance::taxonomy::default_taxonomy();
    let sources = ["hotline_12345", "hotline_12345", "resident_app", "grid_patrol", "camera_ai"];
    let mut reported = 0;
    // Places inside each community, spread deterministically, so the cockpit's map has markers.
    let spot = |community: &linli_domain::NewRegion, n: usize| {
        community.geometry.as_ref().and_then(|g| g.centroid()).map(|c| {
            let (dx, dy) = (((n * 37) % 11) as f64 - 5.0, ((n * 53) % 9) as f64 - 4.0);
            (c.lon + dx * 0.0004, c.lat + dy * 0.0003)
        })
    };
    for (i, community) in communities.iter().enumerate().take(60) {
        for k in 0..3 {
            let category = &taxonomy[(i * 7 + k * 5) % taxonomy.len()];
            let source = sources[(i + k) % sources.len()];
            let at = spot(community, i * 3 + k);
            let body = linli_api::EventBody {
                source: Some(source.to_string()),
                category: Some(category.code.clone()),
                region_code: Some(community.code.clone()),
                lon: at.map(|p| p.0),
                lat: at.map(|p| p.1),
                severity: Some(if source == "camera_ai" { "major" } else { "minor" }.to_string()),
                description: Some(format!("{}：{}", community.name, category.covers)),
                ..Default::default()
            };
            linli_api::report_event(&state, body).await.map_err(|e| anyhow::anyhow!("demo event: {}", e.message))?;
            reported += 1;
        }
    }
    // The scenes the cockpit counts: camera alarms of each type, bins overflowing, group-rental suspects.
    use linli_domain::sensing::alarms::AlarmType;
    for (n, community) in communities.iter().cycle().skip(3).step_by(7).take(42).enumerate() {
        let at = spot(community, 500 + n);
        let mut attributes = linli_domain::Attributes::new();
        let (source, category, severity, title) = match n % 7 {
            k @ 0..=4 => {
                let alarm = AlarmType::ALL[k];
                attributes.insert("alarm_type".into(), alarm.as_str().into());
                let (category, severity) = alarm.event();
                ("camera_ai", category.to_string(), severity.as_str(), format!("{}：{}", alarm.label_zh(), community.name))
            }
            5 => {
                attributes.insert("rule".into(), linli_domain::sensing::scenes::BIN_OVERFLOW_RULE.into());
                ("iot", "env.sanitation".to_string(), "major", format!("垃圾满溢：{}", community.name))
            }
            _ => ("analytics", "build.group_rental".to_string(), "minor", format!("疑似群租：{}", community.name)),
        };
        let body = linli_api::EventBody {
            source: Some(source.to_string()),
            category: Some(category),
            region_code: Some(community.code.clone()),
            lon: at.map(|p| p.0),
            lat: at.map(|p| p.1),
            severity: Some(severity.to_string()),
            title: Some(title),
            attributes,
            ..Default::default()
        };
        linli_api::report_event(&state, body).await.map_err(|e| anyhow::anyhow!("demo scene event: {}", e.message))?;
        reported += 1;
    }
    Ok(reported)
}

/// Removes a previous demo database so the demo starts fresh.
fn remove_demo_database(path: &Path) -> anyhow::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        if file.exists() {
            std::fs::remove_file(&file).with_context(|| format!("cannot remove old demo database {}", file.display()))?;
        }
    }
    Ok(())
}

async fn import(args: ImportArgs) -> anyhow::Result<()> {
    let config = args.storage.config()?;
    config.validate()?;
    init_logging(&config);
    let Some(kind) = linli_import::ImportKind::parse(&args.kind) else {
        bail!("unknown kind {:?}; expected one of {}", args.kind, linli_import::ImportKind::NAMES.join(", "));
    };
    let format = match args.format.as_deref() {
        Some("geojson") => linli_import::Format::GeoJson,
        Some(_) => linli_import::Format::Csv,
        None => linli_import::Format::from_path(&args.file),
    };
    let file = std::fs::File::open(&args.file).with_context(|| format!("cannot open {}", args.file.display()))?;
    let started = std::time::Instant::now();
    let parsed_file = linli_import::parse_partial(kind, format, std::io::BufReader::with_capacity(1 << 20, file));
    let parsed = started.elapsed();
    let store = open_store(&config).await?;
    let summary = match linli_import::write(store.as_ref(), &Jurisdiction::everywhere(), parsed_file).await {
        Ok(summary) => summary,
        Err(linli_store::StoreError::Import(rows)) => return Err(report_rows(&args.file, &rows)),
        Err(other) => return Err(other.into()),
    };
    store.close().await;
    println!(
        "imported {} {} from {} in {:.1}s (parsing {:.1}s)",
        summary.inserted,
        args.kind,
        args.file.display(),
        started.elapsed().as_secs_f64(),
        parsed.as_secs_f64()
    );
    Ok(())
}

/// Prints every bad row to stderr and returns the error that ends the command.
fn report_rows(file: &Path, rows: &[linli_store::RowError]) -> anyhow::Error {
    for row in rows {
        eprintln!("{}: row {}: {}: {}", file.display(), row.row, row.field, row.message);
    }
    anyhow::anyhow!("import refused, nothing was written: {} bad rows in {}", rows.len(), file.display())
}

async fn user(command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Create { username, password, role, display_name, region, org, storage } => {
            let config = storage.config()?;
            config.validate()?;
            let store = open_store(&config).await?;
            let user = provision_user(store.as_ref(), UserBody { username, password, role, display_name, region_code: region, org_code: org })
                .await
                .map_err(|e| anyhow::anyhow!(e.message))?;
            println!("created user {} (id {}, role {})", user.username, user.id, user.role);
        }
        UserCommand::ResetPassword { username, password, storage } => {
            linli_domain::user::check_password(&password).map_err(|e| anyhow::anyhow!(e.to_string()))?;
            let config = storage.config()?;
            config.validate()?;
            let store = open_store(&config).await?;
            let (user, _) = store.find_user(&username).await?.with_context(|| format!("no user {username:?}"))?;
            let hash = linli_api::auth::hash_password(&password).map_err(|e| anyhow::anyhow!(e.message))?;
            store.update_user(user.id, &UserPatch { password_hash: Some(hash), ..Default::default() }).await?;
            println!("password of {username} reset; their sessions are ended");
        }
        UserCommand::Token { username, name, expires_in_days, storage } => {
            let config = storage.config()?;
            config.validate()?;
            let store = open_store(&config).await?;
            let (user, _) = store.find_user(&username).await?.with_context(|| format!("no user {username:?}"))?;
            let token = linli_api::auth::new_token();
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64;
            let expires_at = expires_in_days.map(|d| now + i64::from(d) * 86_400_000);
            store
                .insert_token(&linli_store::NewToken {
                    token_hash: linli_api::auth::hash_token(&token),
                    user_id: user.id,
                    kind: linli_store::TokenKind::Api,
                    name,
                    created_at: now,
                    expires_at,
                })
                .await?;
            println!("{token}");
        }
    }
    Ok(())
}
