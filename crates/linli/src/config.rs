//! Configuration: defaults, then a TOML file, then `LINLI_SECTION__KEY` environment variables,
//! then command-line flags, each overriding the one before.
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub auth: AuthConfig,
    pub log: LogConfig,
    pub mqtt: MqttSettings,
    pub nats: NatsSettings,
    pub telemetry: TelemetrySettings,
    pub cameras: CameraSettings,
}

/// The cameras this node watches itself (see docs/VISION.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraSettings {
    /// Whether this node runs the configured cameras; in a cluster, let one node do it.
    pub watch: bool,
}

impl Default for CameraSettings {
    fn default() -> Self {
        CameraSettings { watch: true }
    }
}

/// How long telemetry is kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    /// Days raw readings are kept; older numeric ones live on as hourly roll-ups.
    pub raw_retention_days: u32,
    /// Days hourly roll-ups are kept.
    pub hourly_retention_days: u32,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        let kept = linli_api::Retention::default();
        TelemetrySettings { raw_retention_days: kept.raw_days, hourly_retention_days: kept.hourly_days }
    }
}

/// NATS JetStream for running several nodes on one PostgreSQL (see `linli_bus::nats`); off while
/// `url` is unset, and then ingestion runs in-process.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsSettings {
    /// `nats://HOST[:PORT]`.
    pub url: Option<String>,
    /// Prefix of the stream, consumers and bucket; the same on every node of one deployment.
    pub namespace: String,
    /// This node's name; unique per running node (default: made from the process id and time).
    pub node_id: Option<String>,
    /// Seconds a delivered message may go unacknowledged before it is delivered again.
    pub ack_wait_secs: u64,
    /// Seconds a node counts as alive (and holds the bridge) without refreshing.
    pub lease_secs: u64,
}

impl Default for NatsSettings {
    fn default() -> Self {
        NatsSettings { url: None, namespace: "linli".into(), node_id: None, ack_wait_secs: 30, lease_secs: 3 }
    }
}

/// The MQTT broker devices publish to; ingestion is off while `url` is unset.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttSettings {
    /// `mqtt://HOST[:PORT]` or `mqtts://HOST[:PORT]` (TLS with the system's root certificates).
    pub url: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The platform's client id; its session (and QoS 1 messages queued while it was down) is
    /// kept by the broker under this name.
    pub client_id: Option<String>,
    /// Issue per-device credentials on the broker through Mosquitto's dynamic-security plugin;
    /// the platform's `username` must be the plugin's admin.
    #[serde(default)]
    pub provisioning: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// Where the embedded SQLite database (`linli.db`) and media live.
    pub data_dir: PathBuf,
    /// A `postgres://` URL; when set, PostgreSQL is used instead of the embedded database.
    pub database_url: Option<String>,
    /// Connections to PostgreSQL.
    pub max_connections: u32,
    /// A PostgreSQL schema to keep everything in (created if missing), so that several
    /// deployments can share one database.
    pub schema: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Lifetime of a login session.
    pub session_ttl_hours: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// A `tracing` filter, e.g. `info` or `linli=debug,sqlx=warn`; `RUST_LOG` wins when set.
    pub level: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            server: ServerConfig { listen: "127.0.0.1:8080".into() },
            storage: StorageConfig { data_dir: PathBuf::from("data"), database_url: None, max_connections: 16, schema: None },
            auth: AuthConfig { session_ttl_hours: 12 },
            log: LogConfig { level: "info".into() },
            mqtt: MqttSettings::default(),
            nats: NatsSettings::default(),
            telemetry: TelemetrySettings::default(),
            cameras: CameraSettings::default(),
        }
    }
}

impl Config {
    /// Loads defaults, the file (if given), then the environment. The caller applies its flags
    /// and then calls [`Config::validate`], so a flag can mend a bad configured value.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            anyhow::ensure!(file.exists(), "config file {} does not exist", file.display());
            figment = figment.merge(Toml::file(file));
        }
        // Only LINLI_SECTION__KEY variables are configuration; others (LINLI_PASSWORD for the CLI,
        // LINLI_TEST_* for the test suite) are not.
        figment = figment
            .merge(Env::prefixed("LINLI_").filter(|key| key.as_str().contains("__") && !key.as_str().to_ascii_lowercase().starts_with("test_")).split("__"));
        figment.extract().context("invalid configuration")
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        self.listen_addr()?;
        anyhow::ensure!(self.auth.session_ttl_hours > 0, "auth.session_ttl_hours must be at least 1");
        if let Some(url) = self.database_url() {
            anyhow::ensure!(url.starts_with("postgres://") || url.starts_with("postgresql://"), "storage.database_url must be a postgres:// URL");
        }
        if let Some(mqtt) = self.mqtt_config() {
            mqtt.check().context("mqtt.url")?;
        }
        anyhow::ensure!(self.telemetry.raw_retention_days >= 1, "telemetry.raw_retention_days must be at least 1");
        anyhow::ensure!(
            self.telemetry.hourly_retention_days >= self.telemetry.raw_retention_days,
            "telemetry.hourly_retention_days must be at least telemetry.raw_retention_days"
        );
        if let Some(nats) = self.nats_config() {
            nats.check()?;
            anyhow::ensure!(self.database_url().is_some(), "nats.url needs storage.database_url: the nodes share one PostgreSQL");
        }
        Ok(())
    }

    /// The NATS bus's configuration, when a NATS server is configured.
    pub fn nats_config(&self) -> Option<linli_bus::nats::NatsConfig> {
        let url = self.nats.url.as_deref().filter(|u| !u.trim().is_empty())?;
        let mut config = linli_bus::nats::NatsConfig::new(url, &self.nats.namespace);
        if let Some(node) = self.nats.node_id.as_deref().filter(|n| !n.is_empty()) {
            config.node_id = node.to_string();
        }
        config.ack_wait = std::time::Duration::from_secs(self.nats.ack_wait_secs);
        config.lease = std::time::Duration::from_secs(self.nats.lease_secs);
        Some(config)
    }

    /// The MQTT source's configuration, when a broker is configured.
    pub fn mqtt_config(&self) -> Option<linli_bus::mqtt::MqttConfig> {
        let url = self.mqtt.url.as_deref().filter(|u| !u.trim().is_empty())?;
        let mut config = linli_bus::mqtt::MqttConfig::devices(url, self.mqtt.client_id.as_deref().filter(|id| !id.is_empty()).unwrap_or("linli"));
        let given = |value: &Option<String>| value.clone().filter(|v| !v.is_empty());
        config.username = given(&self.mqtt.username);
        config.password = given(&self.mqtt.password);
        Some(config)
    }

    /// The first address `server.listen` (HOST:PORT, HOST a name or an IP) resolves to.
    pub fn listen_addr(&self) -> anyhow::Result<SocketAddr> {
        use std::net::ToSocketAddrs;
        self.server
            .listen
            .to_socket_addrs()
            .ok()
            .and_then(|mut addresses| addresses.next())
            .with_context(|| format!("server.listen {:?} is not HOST:PORT", self.server.listen))
    }

    pub fn database_url(&self) -> Option<&str> {
        self.storage.database_url.as_deref().filter(|u| !u.trim().is_empty())
    }

    /// The database URL with any password hidden, for logs.
    pub fn database_label(&self) -> String {
        match self.database_url() {
            Some(url) => match (url.find("://"), url.rfind('@')) {
                (Some(scheme), Some(at)) if at > scheme => {
                    let credentials = &url[scheme + 3..at];
                    let user = credentials.split(':').next().unwrap_or("");
                    format!("{}://{user}:***@{}", &url[..scheme], &url[at + 1..])
                }
                _ => url.to_string(),
            },
            None => format!("sqlite {}", self.sqlite_path().display()),
        }
    }

    pub fn sqlite_path(&self) -> PathBuf {
        self.storage.data_dir.join("linli.db")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("linli.toml");
        std::fs::write(&file, "[server]\nlisten = \"127.0.0.1:9000\"\n[auth]\nsession_ttl_hours = 2\n").unwrap();
        #[allow(clippy::result_large_err)] // figment::Jail fixes the closure's error type
        figment::Jail::expect_with(|jail| {
            jail.set_env("LINLI_AUTH__SESSION_TTL_HOURS", "5");
            jail.set_env("LINLI_TEST_DATABASE_URL", "postgres://ignored");
            jail.set_env("LINLI_PASSWORD", "not configuration");
            let config = Config::load(Some(&file)).unwrap();
            assert_eq!(config.server.listen, "127.0.0.1:9000");
            assert_eq!(config.auth.session_ttl_hours, 5);
            Ok(())
        });
    }

    #[test]
    fn refuses_bad_values() {
        let mut config = Config::default();
        config.server.listen = "nowhere".into();
        assert!(config.validate().is_err());
        config.server.listen = "localhost:8080".into();
        assert!(config.validate().is_ok());
        let mut config = Config::default();
        config.storage.database_url = Some("mysql://x".into());
        assert!(config.validate().is_err());
        config.storage.database_url = Some("postgres://linli:secret@db:5432/linli".into());
        assert_eq!(config.database_label(), "postgres://linli:***@db:5432/linli");
    }
}
