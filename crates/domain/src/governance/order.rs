//! Work orders (工单) and their lifecycle: which action is allowed in which state, what it
//! changes, who may take it, and the time limits that run on every order.
use serde::{Deserialize, Serialize};

use super::calendar::BusinessCalendar;
use super::event::{EventSource, NewEvent, Reporter, Severity};
use super::settings::{Limit, TimeLimits};
use super::taxonomy::{Category, Urgency};
use super::unit::Unit;
use crate::access::Role;
use crate::error::{Invalid, InvalidField};
use crate::geo::Position;
use crate::keyword_enum;
use crate::user::User;

keyword_enum!(
    OrderStatus, "status", {
        New => ["new", "待派发"],
        Dispatched => ["dispatched", "已派发"],
        Accepted => ["accepted", "已签收"],
        InProgress => ["in_progress", "处置中"],
        Suspended => ["suspended", "已挂起"],
        Returned => ["returned", "已退单"],
        Resolved => ["resolved", "已办结"],
        Callback => ["callback", "已回访"],
        Closed => ["closed", "已关闭"],
        Terminated => ["terminated", "已终止"],
    }
);

impl OrderStatus {
    /// Closed and terminated orders take no further action.
    pub fn is_final(self) -> bool {
        matches!(self, OrderStatus::Closed | OrderStatus::Terminated)
    }

    /// States in which the resolution clock runs.
    pub fn is_open(self) -> bool {
        matches!(self, OrderStatus::New | OrderStatus::Dispatched | OrderStatus::Accepted | OrderStatus::InProgress | OrderStatus::Returned)
    }
}

keyword_enum!(
    Action, "action", {
        Dispatch => ["dispatch", "派单"],
        Transfer => ["transfer", "转派"],
        Accept => ["accept", "签收"],
        Contact => ["contact", "联系诉求人"],
        Start => ["start", "开始处置"],
        Return => ["return", "退单"],
        RequestExtension => ["request_extension", "申请延期"],
        ApproveExtension => ["approve_extension", "批准延期"],
        RejectExtension => ["reject_extension", "驳回延期"],
        Suspend => ["suspend", "挂起"],
        Resume => ["resume", "恢复"],
        Resolve => ["resolve", "办结"],
        Callback => ["callback", "回访"],
        Reopen => ["reopen", "重办"],
        Close => ["close", "关闭"],
        Terminate => ["terminate", "终止"],
        Supervise => ["supervise", "督办"],
        Comment => ["comment", "备注"],
    }
);

keyword_enum!(
    Satisfaction, "satisfaction", {
        Satisfied => ["satisfied", "满意"],
        BasicallySatisfied => ["basically_satisfied", "基本满意"],
        Unsatisfied => ["unsatisfied", "不满意"],
    }
);

/// Who did something, as history records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ActorRef {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
}

impl ActorRef {
    pub fn of(user: &User) -> Self {
        ActorRef { user_id: user.id, username: user.username.clone(), role: user.role }
    }
}

/// A pending request for more time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExtensionRequest {
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub until: i64,
    pub reason: String,
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub requested_at: i64,
    pub requested_by: ActorRef,
}

/// The requester's answer when called back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CallbackResult {
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: i64,
    pub solved: bool,
    pub satisfaction: Satisfaction,
    pub note: Option<String>,
    /// `operator` (recorded by staff) or `requester` (answered in the app).
    pub channel: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WorkOrder {
    pub id: i64,
    /// Increases with every change; send it back to act (a stale one gets 409).
    pub version: i64,
    pub title: String,
    pub description: String,
    pub category: String,
    pub urgency: Urgency,
    pub source: EventSource,
    /// Opened before anyone complained (未诉先办).
    pub proactive: bool,
    pub region_code: String,
    pub position: Option<Position>,
    pub address: Option<String>,
    pub requester: Reporter,
    pub event_id: Option<i64>,
    pub incident_id: Option<i64>,
    /// Reports merged into this order's incident (多人同诉).
    pub report_count: i64,
    pub status: OrderStatus,
    /// The unit that holds the order now.
    pub holder: Unit,
    /// Units from the one that received the order down to the holder, one per hop.
    pub chain: Vec<Unit>,
    /// The organisation the routing table names for this category and place.
    pub suggested_org_code: Option<String>,
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
    /// When the resolution clock last started: creation, or the latest reopening.
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub clock_started_at: i64,
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub response_due_at: i64,
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub resolve_due_at: i64,
    #[serde(with = "crate::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub responded_at: Option<i64>,
    #[serde(with = "crate::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub resolved_at: Option<i64>,
    #[serde(with = "crate::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<i64>,
    pub result: Option<String>,
    pub result_media: Vec<String>,
    /// The organisation that resolved the order, for per-organisation rates.
    pub handler_org_code: Option<String>,
    pub extension: Option<ExtensionRequest>,
    pub suspended_from: Option<OrderStatus>,
    #[serde(with = "crate::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub suspended_at: Option<i64>,
    #[serde(with = "crate::time::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub warned_at: Option<i64>,
    pub response_overdue: bool,
    pub overdue: bool,
    /// The unit the order was escalated to when it ran past its deadline.
    pub escalated_to: Option<Unit>,
    /// Flagged for follow-up by a leader (督办).
    pub supervised: bool,
    pub callback: Option<CallbackResult>,
    pub callback_count: i64,
    pub reopen_count: i64,
    pub termination_reason: Option<String>,
    /// When the deadline sweep next has something to check on this order.
    #[serde(default, with = "crate::time::rfc3339::option", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_check_at: Option<i64>,
}

/// One entry of an order's (or whistle's) append-only history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    /// 1, 2, 3, … per record.
    pub seq: i64,
    #[serde(with = "crate::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: i64,
    /// An [`Action`] code, or what the platform did: `created`, `warned`, `response_overdue`,
    /// `overdue`, `escalated`, `applied`, `approved`, `summoned`, `acknowledged`, `checked_in`, …
    pub action: String,
    /// Absent when the platform acted.
    pub actor: Option<ActorRef>,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub from_unit: Option<Unit>,
    pub to_unit: Option<Unit>,
    pub note: Option<String>,
    pub attachments: Vec<String>,
    /// Action-specific detail: the callback's answers, an extension's new deadline.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

impl HistoryEntry {
    pub fn new(at: i64, action: &str, actor: Option<ActorRef>) -> Self {
        HistoryEntry {
            seq: 0,
            at,
            action: action.to_string(),
            actor,
            from_status: None,
            to_status: None,
            from_unit: None,
            to_unit: None,
            note: None,
            attachments: Vec::new(),
            data: serde_json::Value::Null,
        }
    }
}

/// A request to act on an order, validated.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Dispatch { to: Unit, note: Option<String> },
    Transfer { to: Unit, note: Option<String> },
    Accept { note: Option<String> },
    Contact { note: Option<String> },
    Start { note: Option<String> },
    Return { reason: String },
    RequestExtension { until: i64, reason: String },
    ApproveExtension { note: Option<String> },
    RejectExtension { reason: String },
    Suspend { reason: String },
    Resume { note: Option<String> },
    Resolve { result: String, attachments: Vec<String> },
    Callback { solved: bool, satisfaction: Satisfaction, note: Option<String>, channel: String },
    Reopen { note: Option<String> },
    Close { note: Option<String> },
    Terminate { reason: String },
    Supervise { note: Option<String> },
    Comment { note: String, attachments: Vec<String> },
}

impl Command {
    pub fn action(&self) -> Action {
        match self {
            Command::Dispatch { .. } => Action::Dispatch,
            Command::Transfer { .. } => Action::Transfer,
            Command::Accept { .. } => Action::Accept,
            Command::Contact { .. } => Action::Contact,
            Command::Start { .. } => Action::Start,
            Command::Return { .. } => Action::Return,
            Command::RequestExtension { .. } => Action::RequestExtension,
            Command::ApproveExtension { .. } => Action::ApproveExtension,
            Command::RejectExtension { .. } => Action::RejectExtension,
            Command::Suspend { .. } => Action::Suspend,
            Command::Resume { .. } => Action::Resume,
            Command::Resolve { .. } => Action::Resolve,
            Command::Callback { .. } => Action::Callback,
            Command::Reopen { .. } => Action::Reopen,
            Command::Close { .. } => Action::Close,
            Command::Terminate { .. } => Action::Terminate,
            Command::Supervise { .. } => Action::Supervise,
            Command::Comment { .. } => Action::Comment,
        }
    }
}

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ActionError {
    #[error("cannot {action} an order that is {status}; allowed now: {}", list(allowed))]
    Illegal { status: OrderStatus, action: Action, allowed: Vec<Action> },
    #[error("{0}")]
    Invalid(Invalid),
}

fn list(actions: &[Action]) -> String {
    if actions.is_empty() {
        return "nothing".to_string();
    }
    actions.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", ")
}

impl From<InvalidField> for ActionError {
    fn from(field: InvalidField) -> Self {
        ActionError::Invalid(field.into())
    }
}

/// Which actions the order's state allows (who may take them is [`authorize`]'s question).
pub fn allowed_actions(order: &WorkOrder) -> Vec<Action> {
    use Action::*;
    use OrderStatus as S;
    let mut allowed: Vec<Action> = match order.status {
        S::New => vec![Dispatch, Accept, Contact, Terminate, Supervise],
        S::Dispatched => vec![Dispatch, Transfer, Accept, Contact, Return, Terminate, Supervise],
        S::Accepted => vec![Dispatch, Transfer, Start, Contact, Return, RequestExtension, Suspend, Resolve, Terminate, Supervise],
        S::InProgress => vec![Transfer, Contact, RequestExtension, Suspend, Resolve, Terminate, Supervise],
        S::Suspended => vec![Resume, Terminate, Supervise],
        S::Returned => vec![Dispatch, Accept, Contact, Return, Terminate, Supervise],
        S::Resolved => vec![Callback, Terminate, Supervise],
        S::Callback => vec![Reopen, Close, Supervise],
        S::Closed | S::Terminated => vec![],
    };
    if order.status == S::Returned || order.status == S::Dispatched || order.status == S::Accepted {
        // Nobody above to return to.
        if order.chain.len() < 2 {
            allowed.retain(|a| *a != Return);
        }
    }
    if order.extension.is_some() && !order.status.is_final() {
        allowed.retain(|a| *a != RequestExtension);
        allowed.extend([ApproveExtension, RejectExtension]);
    }
    if !order.status.is_final() {
        allowed.push(Comment);
    }
    allowed
}

/// The deadlines of an order whose clock starts at `start`.
pub fn deadlines(start: i64, limit: Limit, calendar: &BusinessCalendar) -> (i64, i64) {
    let respond = start + limit.respond_minutes * 60_000;
    let resolve = match (limit.resolve_working_days, limit.resolve_minutes) {
        (Some(days), _) => calendar.add_working_days(start, days),
        (None, Some(minutes)) => start + minutes * 60_000,
        (None, None) => start,
    };
    (respond, resolve)
}

/// What a new order starts from.
pub struct OrderSeed<'a> {
    pub title: String,
    pub description: String,
    pub category: &'a Category,
    /// The category's urgency (emergency for a critical event) when absent.
    pub urgency: Option<Urgency>,
    pub source: EventSource,
    pub proactive: bool,
    pub region_code: String,
    /// The event the order opens for, whose place and severity it takes.
    pub event: Option<&'a NewEvent>,
    pub requester: Reporter,
    /// The unit that receives the order: the first of its chain.
    pub holder: Unit,
    pub suggested_org_code: Option<String>,
}

/// A new order (id 0 until stored), its deadlines from the time limits and calendar in force at `now`.
pub fn open_order(seed: OrderSeed<'_>, limits: &TimeLimits, calendar: &BusinessCalendar, now: i64) -> WorkOrder {
    let urgency = seed.urgency.unwrap_or(match seed.event.map(|e| e.severity) {
        Some(Severity::Critical) => Urgency::Emergency,
        _ => seed.category.urgency,
    });
    let (response_due_at, resolve_due_at) = deadlines(now, limits.for_urgency(urgency), calendar);
    let mut order = WorkOrder {
        id: 0,
        version: 1,
        title: seed.title,
        description: seed.description,
        category: seed.category.code.clone(),
        urgency,
        source: seed.source,
        proactive: seed.proactive,
        region_code: seed.region_code,
        position: seed.event.and_then(|e| e.position),
        address: seed.event.and_then(|e| e.address.clone()),
        requester: seed.requester,
        event_id: None,
        incident_id: None,
        report_count: 1,
        status: OrderStatus::New,
        holder: seed.holder.clone(),
        chain: vec![seed.holder],
        suggested_org_code: seed.suggested_org_code,
        created_at: now,
        clock_started_at: now,
        response_due_at,
        resolve_due_at,
        responded_at: None,
        resolved_at: None,
        closed_at: None,
        result: None,
        result_media: Vec::new(),
        handler_org_code: None,
        extension: None,
        suspended_from: None,
        suspended_at: None,
        warned_at: None,
        response_overdue: false,
        overdue: false,
        escalated_to: None,
        supervised: false,
        callback: None,
        callback_count: 0,
        reopen_count: 0,
        termination_reason: None,
        next_check_at: None,
    };
    order.next_check_at = next_check_at(&order, limits);
    order
}

/// What acting needs to know besides the order.
pub struct ActionContext<'a> {
    pub now: i64,
    pub actor: ActorRef,
    pub limits: &'a TimeLimits,
    pub calendar: &'a BusinessCalendar,
}

/// Applies a command: the changed order and the history entry recording it. Pure; the store
/// persists both atomically (or neither).
pub fn apply(order: &WorkOrder, command: Command, ctx: &ActionContext<'_>) -> Result<(WorkOrder, HistoryEntry), ActionError> {
    let action = command.action();
    if !allowed_actions(order).contains(&action) {
        return Err(ActionError::Illegal { status: order.status, action, allowed: allowed_actions(order) });
    }
    let now = ctx.now;
    let mut next = order.clone();
    let mut entry = HistoryEntry::new(now, action.as_str(), Some(ctx.actor.clone()));
    entry.from_status = Some(order.status.as_str().to_string());
    entry.from_unit = Some(order.holder.clone());
    match command {
        Command::Dispatch { to, note } => {
            if to.same_as(&order.holder) {
                return Err(InvalidField::new("to", "the order is already there").into());
            }
            next.status = OrderStatus::Dispatched;
            next.chain.push(to.clone());
            next.holder = to;
            entry.note = note;
        }
        Command::Transfer { to, note } => {
            if to.same_as(&order.holder) {
                return Err(InvalidField::new("to", "the order is already there").into());
            }
            next.status = OrderStatus::Dispatched;
            next.chain.pop();
            next.chain.push(to.clone());
            next.holder = to;
            entry.note = note;
        }
        Command::Accept { note } => {
            next.status = OrderStatus::Accepted;
            next.responded_at.get_or_insert(now);
            entry.note = note;
        }
        Command::Contact { note } => {
            next.responded_at.get_or_insert(now);
            entry.note = note;
        }
        Command::Start { note } => {
            next.status = OrderStatus::InProgress;
            entry.note = note;
        }
        Command::Return { reason } => {
            next.chain.pop();
            next.holder = next.chain.last().cloned().unwrap_or_else(|| order.holder.clone());
            next.status = OrderStatus::Returned;
            entry.note = Some(reason);
        }
        Command::RequestExtension { until, reason } => {
            if until <= order.resolve_due_at {
                return Err(InvalidField::new("until", "must be later than the current resolution deadline").into());
            }
            if until <= now {
                return Err(InvalidField::new("until", "is in the past").into());
            }
            next.extension = Some(ExtensionRequest { until, reason: reason.clone(), requested_at: now, requested_by: ctx.actor.clone() });
            entry.note = Some(reason);
            entry.data = serde_json::json!({ "until": crate::time::format_rfc3339(until) });
        }
        Command::ApproveExtension { note } => {
            let request = order.extension.clone().expect("allowed only with a pending request");
            entry.data = serde_json::json!({
                "from": crate::time::format_rfc3339(order.resolve_due_at),
                "until": crate::time::format_rfc3339(request.until),
            });
            next.resolve_due_at = request.until;
            next.extension = None;
            next.warned_at = None;
            next.overdue = next.overdue && now > request.until;
            entry.note = note;
        }
        Command::RejectExtension { reason } => {
            next.extension = None;
            entry.note = Some(reason);
        }
        Command::Suspend { reason } => {
            next.suspended_from = Some(order.status);
            next.suspended_at = Some(now);
            next.status = OrderStatus::Suspended;
            entry.note = Some(reason);
        }
        Command::Resume { note } => {
            // The clock stood still while suspended.
            let paused = now - order.suspended_at.unwrap_or(now);
            next.resolve_due_at += paused;
            if order.responded_at.is_none() {
                next.response_due_at += paused;
            }
            next.status = order.suspended_from.unwrap_or(OrderStatus::InProgress);
            next.suspended_from = None;
            next.suspended_at = None;
            entry.note = note;
            entry.data = serde_json::json!({ "paused_ms": paused, "resolve_due_at": crate::time::format_rfc3339(next.resolve_due_at) });
        }
        Command::Resolve { result, attachments } => {
            next.status = OrderStatus::Resolved;
            next.resolved_at = Some(now);
            next.responded_at.get_or_insert(now);
            next.result = Some(result.clone());
            next.result_media = attachments.clone();
            next.handler_org_code = match order.holder.kind {
                super::unit::UnitKind::Organisation => Some(order.holder.code.clone()),
                super::unit::UnitKind::Region => None,
            };
            next.extension = None;
            entry.note = Some(result);
            entry.attachments = attachments;
        }
        Command::Callback { solved, satisfaction, note, channel } => {
            next.status = OrderStatus::Callback;
            next.callback = Some(CallbackResult { at: now, solved, satisfaction, note: note.clone(), channel: channel.clone() });
            next.callback_count += 1;
            entry.note = note;
            entry.data = serde_json::json!({ "solved": solved, "satisfaction": satisfaction, "channel": channel });
        }
        Command::Reopen { note } => {
            let limit = ctx.limits.for_urgency(order.urgency);
            let (_, resolve_due) = deadlines(now, limit, ctx.calendar);
            next.status = OrderStatus::InProgress;
            next.reopen_count += 1;
            next.clock_started_at = now;
            next.resolve_due_at = resolve_due;
            next.resolved_at = None;
            next.result = None;
            next.result_media = Vec::new();
            next.warned_at = None;
            next.overdue = false;
            entry.note = note;
            entry.data = serde_json::json!({ "resolve_due_at": crate::time::format_rfc3339(resolve_due) });
        }
        Command::Close { note } => {
            next.status = OrderStatus::Closed;
            next.closed_at = Some(now);
            entry.note = note;
        }
        Command::Terminate { reason } => {
            next.status = OrderStatus::Terminated;
            next.closed_at = Some(now);
            next.termination_reason = Some(reason.clone());
            entry.note = Some(reason);
        }
        Command::Supervise { note } => {
            next.supervised = true;
            entry.note = note;
        }
        Command::Comment { note, attachments } => {
            entry.note = Some(note);
            entry.attachments = attachments;
        }
    }
    next.version = order.version + 1;
    next.next_check_at = next_check_at(&next, ctx.limits);
    entry.to_status = Some(next.status.as_str().to_string());
    entry.to_unit = Some(next.holder.clone());
    Ok((next, entry))
}

/// Whether `user` may take `action` on `order`. `covers_location` says whether the order's place
/// lies in the user's jurisdiction.
pub fn authorize(user: &User, order: &WorkOrder, action: Action, covers_location: bool) -> Result<(), String> {
    use Action::*;
    if user.role == Role::Admin && covers_location {
        return Ok(());
    }
    let is_requester = order.requester.user_id == Some(user.id);
    if user.role == Role::Resident {
        return match action {
            Callback | Comment if is_requester => Ok(()),
            _ => Err("residents may only answer the callback on their own orders".to_string()),
        };
    }
    let holds = order.holder.has_member(user);
    let in_chain = order.chain.iter().any(|u| u.has_member(user));
    let above = order.chain.iter().rev().skip(1).any(|u| u.has_member(user));
    let dispatcher = matches!(
        user.role,
        Role::DistrictDispatcher | Role::StreetDispatcher | Role::StreetLeader | Role::Leader | Role::CommunitySecretary | Role::CommunityWorker
    );
    let leader = matches!(user.role, Role::Leader | Role::StreetLeader);
    let ok = match action {
        Dispatch | Transfer | Accept | Contact | Start | Return | RequestExtension | Suspend | Resume | Resolve => holds,
        ApproveExtension | RejectExtension => above || (covers_location && (leader || user.role == Role::DistrictDispatcher)),
        Callback | Reopen | Close => covers_location && (dispatcher || in_chain),
        Terminate => covers_location && (leader || user.role == Role::DistrictDispatcher),
        Supervise => covers_location && leader,
        Comment => covers_location || in_chain,
    };
    if ok {
        Ok(())
    } else {
        let who = match action {
            Dispatch | Transfer | Accept | Contact | Start | Return | RequestExtension | Suspend | Resume | Resolve => {
                format!("only {} ({}) may {action} this order", order.holder.name, order.holder.code)
            }
            Supervise => "only leaders in whose jurisdiction the order lies may supervise it".to_string(),
            Terminate => "only leaders and district dispatchers in whose jurisdiction the order lies may terminate it".to_string(),
            _ => format!("the {} role may not {action} this order here", user.role),
        };
        Err(who)
    }
}

/// The next instant at which [`sweep`] would change the order, if any.
pub fn next_check_at(order: &WorkOrder, limits: &TimeLimits) -> Option<i64> {
    if !order.status.is_open() {
        return None;
    }
    let span = (order.resolve_due_at - order.clock_started_at).max(0) as f64;
    let warn_at = order.clock_started_at + (span * limits.warn_at_fraction) as i64;
    [
        (order.responded_at.is_none() && !order.response_overdue).then_some(order.response_due_at + 1),
        (order.warned_at.is_none() && !order.overdue).then_some(warn_at),
        (!order.overdue).then_some(order.resolve_due_at + 1),
    ]
    .into_iter()
    .flatten()
    .min()
}

/// What the deadline sweep does to one order at `now`: the changed order and what to record,
/// or `None` when nothing is due. Escalation goes one hop up the chain.
pub fn sweep(order: &WorkOrder, now: i64, limits: &TimeLimits) -> Option<(WorkOrder, Vec<HistoryEntry>)> {
    let mut next = order.clone();
    let mut entries = Vec::new();
    let active = order.status.is_open();
    if active && order.responded_at.is_none() && !order.response_overdue && now > order.response_due_at {
        next.response_overdue = true;
        entries.push(HistoryEntry::new(now, "response_overdue", None));
    }
    let span = (order.resolve_due_at - order.clock_started_at).max(0) as f64;
    let warn_at = order.clock_started_at + (span * limits.warn_at_fraction) as i64;
    if active && order.warned_at.is_none() && now >= warn_at && now <= order.resolve_due_at {
        next.warned_at = Some(now);
        let mut entry = HistoryEntry::new(now, "warned", None);
        entry.data = serde_json::json!({ "resolve_due_at": crate::time::format_rfc3339(order.resolve_due_at) });
        entries.push(entry);
    }
    if active && !order.overdue && now > order.resolve_due_at {
        next.overdue = true;
        entries.push(HistoryEntry::new(now, "overdue", None));
        if next.escalated_to.is_none() {
            if let Some(up) = order.chain.iter().rev().nth(1) {
                next.escalated_to = Some(up.clone());
                let mut entry = HistoryEntry::new(now, "escalated", None);
                entry.from_unit = Some(order.holder.clone());
                entry.to_unit = Some(up.clone());
                entries.push(entry);
            }
        }
    }
    if entries.is_empty() {
        return None;
    }
    next.version += 1;
    next.next_check_at = next_check_at(&next, limits);
    for entry in &mut entries {
        entry.from_status = Some(order.status.as_str().to_string());
        entry.to_status = Some(order.status.as_str().to_string());
    }
    Some((next, entries))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::governance::unit::UnitKind;

    fn unit(kind: UnitKind, code: &str) -> Unit {
        Unit { kind, code: code.into(), name: code.into() }
    }

    fn order() -> WorkOrder {
        let categories = crate::governance::taxonomy::default_taxonomy();
        let seed = OrderSeed {
            title: "t".into(),
            description: String::new(),
            category: crate::governance::taxonomy::find(&categories, "category", "env.noise").unwrap(),
            urgency: None,
            source: EventSource::Hotline12345,
            proactive: false,
            region_code: "c1".into(),
            event: None,
            requester: Reporter::default(),
            holder: unit(UnitKind::Region, "d"),
            suggested_org_code: None,
        };
        let order = open_order(seed, &TimeLimits::default(), &BusinessCalendar::default(), 0);
        assert_eq!((order.response_due_at, order.resolve_due_at), (7_200_000, 7 * 86_400_000));
        order
    }

    fn ctx(now: i64) -> (TimeLimits, BusinessCalendar, i64) {
        (TimeLimits::default(), BusinessCalendar::default(), now)
    }

    fn act(o: &WorkOrder, c: Command, now: i64) -> Result<WorkOrder, ActionError> {
        let (limits, calendar, now) = ctx(now);
        let actor = ActorRef { user_id: 1, username: "u".into(), role: Role::Admin };
        apply(o, c, &ActionContext { now, actor, limits: &limits, calendar: &calendar }).map(|(o, _)| o)
    }

    #[test]
    fn the_chain_goes_down_and_returns_up() {
        let o = act(&order(), Command::Dispatch { to: unit(UnitKind::Region, "s"), note: None }, 10).unwrap();
        let o = act(&o, Command::Dispatch { to: unit(UnitKind::Region, "c1"), note: None }, 20).unwrap();
        assert_eq!(o.chain.len(), 3);
        let o = act(&o, Command::Return { reason: "not ours".into() }, 30).unwrap();
        assert_eq!((o.status, o.holder.code.as_str(), o.chain.len()), (OrderStatus::Returned, "s", 2));
        let o = act(&o, Command::Dispatch { to: unit(UnitKind::Organisation, "dept.x"), note: None }, 40).unwrap();
        let o = act(&o, Command::Accept { note: None }, 50).unwrap();
        assert_eq!(o.responded_at, Some(50));
        let o = act(&o, Command::Resolve { result: "done".into(), attachments: vec![] }, 60).unwrap();
        assert_eq!(o.handler_org_code.as_deref(), Some("dept.x"));
        assert_eq!(o.version, 7);
        let err = act(&o, Command::Close { note: None }, 70).unwrap_err();
        assert_eq!(
            err,
            ActionError::Illegal {
                status: OrderStatus::Resolved,
                action: Action::Close,
                allowed: vec![Action::Callback, Action::Terminate, Action::Supervise, Action::Comment]
            }
        );
        let o = act(&o, Command::Callback { solved: false, satisfaction: Satisfaction::Unsatisfied, note: None, channel: "operator".into() }, 80).unwrap();
        let o = act(&o, Command::Reopen { note: None }, 90).unwrap();
        assert_eq!((o.status, o.resolve_due_at, o.reopen_count), (OrderStatus::InProgress, 90 + 7 * 86_400_000, 1));
    }

    #[test]
    fn nothing_above_the_first_unit_to_return_to() {
        let o = act(&order(), Command::Accept { note: None }, 10).unwrap();
        assert!(matches!(act(&o, Command::Return { reason: "x".into() }, 20), Err(ActionError::Illegal { .. })));
    }

    #[test]
    fn suspension_stops_the_clock_and_extensions_move_it() {
        let o = act(&order(), Command::Accept { note: None }, 10).unwrap();
        let o = act(&o, Command::Suspend { reason: "waiting for parts".into() }, 1000).unwrap();
        let o = act(&o, Command::Resume { note: None }, 6000).unwrap();
        assert_eq!((o.status, o.resolve_due_at), (OrderStatus::Accepted, 7 * 86_400_000 + 5000));
        let until = o.resolve_due_at + 86_400_000;
        let o = act(&o, Command::RequestExtension { until, reason: "parts".into() }, 7000).unwrap();
        assert!(allowed_actions(&o).contains(&Action::ApproveExtension));
        let o = act(&o, Command::ApproveExtension { note: None }, 8000).unwrap();
        assert_eq!((o.resolve_due_at, o.extension.is_none()), (until, true));
    }

    #[test]
    fn the_sweep_warns_marks_overdue_and_escalates_once() {
        let o = act(&order(), Command::Dispatch { to: unit(UnitKind::Region, "s"), note: None }, 0).unwrap();
        let limits = TimeLimits::default();
        assert!(sweep(&o, 1000, &limits).is_none());
        let (o, entries) = sweep(&o, 7_200_001, &limits).unwrap();
        assert_eq!(entries.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["response_overdue"]);
        let (o, entries) = sweep(&o, 6 * 86_400_000, &limits).unwrap();
        assert_eq!(entries[0].action, "warned");
        let (o, entries) = sweep(&o, 8 * 86_400_000, &limits).unwrap();
        assert_eq!(entries.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["overdue", "escalated"]);
        assert_eq!(o.escalated_to.as_ref().map(|u| u.code.as_str()), Some("d"));
        assert!(sweep(&o, 9 * 86_400_000, &limits).is_none());
    }
}
