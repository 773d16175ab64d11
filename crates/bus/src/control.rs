//! The platform's own connection to the broker for what goes the other way: commands to devices
//! (`linli/v1/devices/{id}/command`) and, where the broker is Mosquitto with its dynamic-security
//! plugin, device credentials managed through the plugin's `$CONTROL` topic.
//!
//! Each device gets a client whose username is its id, a password, and a role of its own,
//! `linli-device-{id}`, whose ACLs name its topics: it may publish only under
//! `linli/v1/devices/{its id}/` and subscribe only to its own commands (a role per device
//! because Mosquitto 2.0 does not expand `%u` in publish ACLs). Revoking deletes the client,
//! which also disconnects it, and its role.
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rumqttc::v5::mqttbytes::v5::Packet;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::{AsyncClient, Event};
use serde_json::{json, Value};
use tokio::sync::oneshot;

use linli_domain::sensing::payload::{command_topic, TOPIC_PREFIX};

use crate::mqtt::MqttConfig;
use crate::BusError;

const DYNSEC_TOPIC: &str = "$CONTROL/dynamic-security/v1";
const DYNSEC_RESPONSES: &str = "$CONTROL/dynamic-security/v1/response";
/// The role the platform gives its own broker user, so it may send commands.
pub const PLATFORM_ROLE: &str = "linli-platform";
const ANSWER_WAIT: Duration = Duration::from_secs(5);

type Waiting = Arc<Mutex<HashMap<String, oneshot::Sender<Value>>>>;

fn device_role(device: &str) -> String {
    format!("linli-device-{device}")
}

/// The topics a provisioned device may use.
pub fn device_topics(device: &str) -> (String, String) {
    (format!("{TOPIC_PREFIX}{device}/#"), command_topic(device))
}

pub struct MqttControl {
    client: AsyncClient,
    waiting: Waiting,
    /// Whether the answers' topic is subscribed: commands sent before would go unanswered.
    subscribed: tokio::sync::watch::Receiver<bool>,
    next: AtomicU64,
    provisioning: bool,
    /// Whether [`MqttControl::prepare`] has succeeded: done once, not per device.
    prepared: AtomicBool,
    username: Option<String>,
}

impl MqttControl {
    /// Connects as `{client_id}-control-{process}` (a clean session: nothing to resume; unique
    /// per process, because nodes sharing the bridge share `client_id` and would otherwise throw
    /// each other off). With `provisioning`, the platform's user must be a dynamic-security admin.
    pub fn start(config: &MqttConfig, provisioning: bool) -> Result<Arc<Self>, BusError> {
        let mut config = config.clone();
        config.persistent_session = false;
        let id = format!("{}-control-{}-{:x}", config.client_id, std::process::id(), crate::now_ms() & 0xff_ffff);
        let (client, mut eventloop) = AsyncClient::new(config.options(&id)?, 256);
        let waiting: Waiting = Arc::default();
        let (subscribed_now, subscribed) = tokio::sync::watch::channel(false);
        let control = Arc::new(MqttControl {
            client: client.clone(),
            waiting: waiting.clone(),
            subscribed,
            next: AtomicU64::new(1),
            provisioning,
            prepared: AtomicBool::new(false),
            username: config.username,
        });
        let url = config.url;
        tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        let _ = subscribed_now.send(true);
                    }
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        let _ = subscribed_now.send(false);
                        if provisioning {
                            if let Err(error) = client.subscribe(DYNSEC_RESPONSES, QoS::AtLeastOnce).await {
                                tracing::error!(%error, "subscribing to the dynamic-security answers failed");
                            }
                        }
                    }
                    Ok(Event::Incoming(Packet::Publish(publish))) => {
                        let Ok(answer) = serde_json::from_slice::<Value>(&publish.payload) else { continue };
                        for response in answer["responses"].as_array().into_iter().flatten() {
                            let id = response["correlationData"].as_str().unwrap_or_default();
                            if let Some(sender) = waiting.lock().unwrap_or_else(|e| e.into_inner()).remove(id) {
                                let _ = sender.send(response.clone());
                            }
                        }
                    }
                    Ok(_) => {}
                    Err(error) => {
                        if Arc::strong_count(&waiting) == 1 {
                            return; // the control handle is gone
                        }
                        tracing::warn!(%error, %url, "control connection to the MQTT broker lost; retrying in 1 s");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(control)
    }

    /// Whether device credentials are managed on the broker.
    pub fn provisions(&self) -> bool {
        self.provisioning
    }

    /// Publishes a command to a device (QoS 1); the broker keeps it for a device that is away
    /// with a persistent session.
    pub async fn send_command(&self, device: &str, payload: Vec<u8>) -> Result<(), BusError> {
        self.client.publish(command_topic(device), QoS::AtLeastOnce, false, payload).await.map_err(|e| BusError::Broker(e.to_string()))
    }

    /// Makes sure the roles exist and the platform's user holds its own: run at start and, until
    /// it has succeeded, before a device is provisioned (creating what exists is answered
    /// "already exists", which is fine).
    pub async fn prepare(&self) -> Result<(), BusError> {
        let platform_acls = json!([
            {"acltype": "publishClientSend", "topic": format!("{TOPIC_PREFIX}+/command"), "allow": true},
            {"acltype": "publishClientReceive", "topic": format!("{TOPIC_PREFIX}#"), "allow": true},
            {"acltype": "subscribePattern", "topic": format!("{TOPIC_PREFIX}#"), "allow": true},
        ]);
        let mut commands = vec![json!({"command": "createRole", "rolename": PLATFORM_ROLE, "acls": platform_acls})];
        if let Some(user) = &self.username {
            commands.push(json!({"command": "getClient", "username": user}));
        }
        let answers = self.dynsec(commands).await?;
        answers.iter().try_for_each(|answer| refused(answer, &["already"]))?;
        // Mosquitto 2.0 answers a repeated addClientRole with "Internal error", so look first.
        if let (Some(user), Some(client)) = (&self.username, answers.get(1)) {
            let roles = client["data"]["client"]["roles"].as_array().cloned().unwrap_or_default();
            if !roles.iter().any(|r| r["rolename"] == PLATFORM_ROLE) {
                let add = json!({"command": "addClientRole", "username": user, "rolename": PLATFORM_ROLE});
                refused(&self.dynsec(vec![add]).await?[0], &[])?;
            }
        }
        self.prepared.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Gives a device a broker client with this password, or a new password if it has one.
    pub async fn issue_credentials(&self, device: &str, password: &str) -> Result<(), BusError> {
        if !self.prepared.load(Ordering::Relaxed) {
            self.prepare().await?;
        }
        let (publish, commands) = device_topics(device);
        let acls = json!([
            {"acltype": "publishClientSend", "topic": publish, "allow": true},
            {"acltype": "subscribeLiteral", "topic": commands, "allow": true},
            {"acltype": "publishClientReceive", "topic": commands, "allow": true},
        ]);
        let role = json!({"command": "createRole", "rolename": device_role(device), "acls": acls});
        let create = json!({"command": "createClient", "username": device, "password": password, "roles": [{"rolename": device_role(device)}]});
        let answers = self.dynsec(vec![role, create]).await?;
        refused(&answers[0], &["already"])?;
        if refused(&answers[1], &[]).is_err() {
            // It exists (or cannot be made): a new password for it, or the real refusal.
            refused(&answers[1], &["already"])?;
            let reset = json!({"command": "setClientPassword", "username": device, "password": password});
            refused(&self.dynsec(vec![reset]).await?[0], &[])?;
        }
        Ok(())
    }

    /// Deletes a device's broker client (disconnecting it) and its role. `Ok(false)` when it had
    /// none.
    pub async fn revoke_credentials(&self, device: &str) -> Result<bool, BusError> {
        let delete = vec![json!({"command": "deleteClient", "username": device}), json!({"command": "deleteRole", "rolename": device_role(device)})];
        let answers = self.dynsec(delete).await?;
        refused(&answers[1], &["not found"])?;
        refused(&answers[0], &["not found"])?;
        Ok(answers[0]["error"].as_str().is_none_or(str::is_empty))
    }

    /// Sends commands to the dynamic-security plugin and waits for each answer.
    async fn dynsec(&self, mut commands: Vec<Value>) -> Result<Vec<Value>, BusError> {
        if !self.provisioning {
            return Err(BusError::Broker("device provisioning is not enabled (mqtt.provisioning)".into()));
        }
        let mut subscribed = self.subscribed.clone();
        if tokio::time::timeout(ANSWER_WAIT, subscribed.wait_for(|ready| *ready)).await.is_err() {
            return Err(BusError::Broker("not connected to the broker".into()));
        }
        // Whatever happens below, no answer is waited for after this call returns.
        let mut pending = Pending { waiting: &self.waiting, ids: Vec::with_capacity(commands.len()) };
        let mut answers = Vec::with_capacity(commands.len());
        for command in &mut commands {
            let id = format!("linli-{}", self.next.fetch_add(1, Ordering::Relaxed));
            command["correlationData"] = Value::from(id.clone());
            let (sender, receiver) = oneshot::channel();
            self.waiting.lock().unwrap_or_else(|e| e.into_inner()).insert(id.clone(), sender);
            pending.ids.push(id);
            answers.push(receiver);
        }
        let payload = serde_json::to_vec(&json!({ "commands": commands })).map_err(|e| BusError::Broker(e.to_string()))?;
        self.client.publish(DYNSEC_TOPIC, QoS::AtLeastOnce, false, payload).await.map_err(|e| BusError::Broker(e.to_string()))?;
        let mut results = Vec::with_capacity(answers.len());
        for receiver in answers {
            match tokio::time::timeout(ANSWER_WAIT, receiver).await {
                Ok(Ok(answer)) => results.push(answer),
                _ => {
                    return Err(BusError::Broker(
                        "the broker did not answer the dynamic-security command (is the plugin loaded, and the platform user its admin?)".into(),
                    ))
                }
            }
        }
        Ok(results)
    }
}

/// The ids of one call's commands, no longer waited for once the call is over.
struct Pending<'a> {
    waiting: &'a Waiting,
    ids: Vec<String>,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        for id in &self.ids {
            waiting.remove(id);
        }
    }
}

/// The plugin's refusal in an answer, unless its message holds one of `tolerated`.
fn refused(answer: &Value, tolerated: &[&str]) -> Result<(), BusError> {
    match answer["error"].as_str().filter(|e| !e.is_empty()) {
        Some(error) if !tolerated.iter().any(|t| error.contains(t)) => {
            Err(BusError::Broker(format!("{}: {error}", answer["command"].as_str().unwrap_or("dynamic security"))))
        }
        _ => Ok(()),
    }
}
