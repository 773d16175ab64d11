//! Months of 12345 history for the whole city: work orders that went round the closed loop —
//! received by a district, dispatched to a street, on to a community or a department, answered
//! (some late), resolved (some overdue), called back, now and then reopened, closed — and, near
//! the end of the window, orders still on their way. For benchmarks at Beijing's volume and for
//! the cockpit's trends.
//!
//! Every order is played through the domain's own [`apply`], so its document, columns and
//! history are what the live system would have written. Deterministic: the same plan and seed
//! give the same orders. No I/O: the caller imports the batches.

use linli_domain::governance::calendar::BusinessCalendar;
use linli_domain::governance::event::Reporter;
use linli_domain::governance::order::{apply, open_order, sweep, ActionContext, ActorRef, Command, HistoryEntry, OrderSeed};
use linli_domain::governance::settings::TimeLimits;
use linli_domain::governance::taxonomy::default_taxonomy;
use linli_domain::governance::{Category, EventSource, Satisfaction, Unit, UnitKind, WorkOrder};
use linli_domain::region::RegionInput;
use linli_domain::{NewRegion, Role};
use linli_store::{ImportBatch, ImportedOrder};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::{DISTRICT_CODE, STREETS};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// Beijing's sixteen districts: administrative code, name, residents (2020 census, ten
/// thousands). Orders fall on a district in proportion to its residents.
pub const BEIJING_DISTRICTS: &[(&str, &str, u32)] = &[
    ("110101", "东城区", 71),
    ("110102", "西城区", 111),
    ("110105", "朝阳区", 345),
    ("110106", "丰台区", 202),
    ("110107", "石景山区", 57),
    ("110108", "海淀区", 313),
    ("110109", "门头沟区", 39),
    ("110111", "房山区", 131),
    ("110112", "通州区", 184),
    ("110113", "顺义区", 132),
    (DISTRICT_CODE, "昌平区", 227),
    ("110115", "大兴区", 199),
    ("110116", "怀柔区", 44),
    ("110117", "平谷区", 46),
    ("110118", "密云区", 53),
    ("110119", "延庆区", 35),
];

/// Streets per district and communities per street outside the demo's own district.
const OTHER_STREETS: u32 = 12;
const OTHER_COMMUNITIES: u32 = 8;

/// Beijing's twelve-month 12345 volume runs near 58,700 calls a day.
pub const BEIJING_ORDERS_PER_DAY: u64 = 58_700;

/// The regions of the fifteen districts the demo world lacks (the city and 昌平区 come from
/// [`crate::generate`]): districts, streets and communities, to import after the demo world.
pub fn city_regions() -> ImportBatch {
    let mut rows = Vec::new();
    let mut add = |code: String, level: &str, name: String, parent: &str| {
        let input = RegionInput { code: Some(&code), level: Some(level), name: Some(&name), parent_code: Some(parent), ..Default::default() };
        rows.push((rows.len() + 1, NewRegion::parse(input).expect("generated regions are valid")));
    };
    for (district, name, _) in BEIJING_DISTRICTS.iter().filter(|d| d.0 != DISTRICT_CODE) {
        add(district.to_string(), "district", name.to_string(), "110000");
        for s in 1..=OTHER_STREETS {
            let street = format!("{district}{s:03}");
            add(street.clone(), "street", format!("{name}第{s}街道"), district);
            for c in 1..=OTHER_COMMUNITIES {
                add(format!("{street}{c:03}"), "community", format!("{name}第{s}街道第{c}社区"), &street);
            }
        }
    }
    ImportBatch::Regions(rows)
}

/// What history to make.
#[derive(Debug, Clone)]
pub struct HistoryPlan {
    pub seed: u64,
    /// Orders in all, created evenly over the window.
    pub orders: u64,
    /// The window ends here (ms since the epoch): nothing happens after it, so the last days'
    /// orders are still open.
    pub end_ms: i64,
    pub days: u32,
    /// Keep each order's history entries (the import then writes about eight rows an order).
    pub with_history: bool,
}

/// The orders of a [`HistoryPlan`], oldest first.
pub struct OrderHistory {
    plan: HistoryPlan,
    rng: ChaCha8Rng,
    categories: Vec<Category>,
    limits: TimeLimits,
    calendar: BusinessCalendar,
    /// (district code, cumulative weight).
    districts: Vec<(&'static str, u32)>,
    next: u64,
}

impl OrderHistory {
    pub fn new(plan: HistoryPlan) -> Self {
        let mut total = 0;
        let districts = BEIJING_DISTRICTS
            .iter()
            .map(|(code, _, weight)| {
                total += weight;
                (*code, total)
            })
            .collect();
        OrderHistory {
            rng: ChaCha8Rng::seed_from_u64(plan.seed),
            plan,
            categories: default_taxonomy(),
            limits: TimeLimits::default(),
            calendar: BusinessCalendar::new([]),
            districts,
            next: 0,
        }
    }

    fn place(&mut self) -> (String, String, String) {
        let total = self.districts.last().map_or(1, |d| d.1);
        let pick = self.rng.gen_range(0..total);
        let district = self.districts.iter().find(|d| pick < d.1).map_or(DISTRICT_CODE, |d| d.0);
        let (streets, communities) = if district == DISTRICT_CODE { (STREETS.len() as u32, 10) } else { (OTHER_STREETS, OTHER_COMMUNITIES) };
        let street = format!("{district}{:03}", self.rng.gen_range(1..=streets));
        let community = format!("{street}{:03}", self.rng.gen_range(1..=communities));
        (district.to_string(), street, community)
    }

    /// Plays one order from its creation to `plan.end_ms` at the latest.
    fn play(&mut self, created_at: i64) -> ImportedOrder {
        let (district, street, community) = self.place();
        let category = self.categories[self.rng.gen_range(0..self.categories.len())].clone();
        let department = unit(UnitKind::Organisation, &category.default_org_code);
        let seed = OrderSeed {
            title: category.name_zh.clone(),
            description: format!("市民来电反映{}问题", category.name_zh),
            category: &category,
            urgency: None,
            source: EventSource::Hotline12345,
            proactive: false,
            region_code: community.clone(),
            event: None,
            requester: Reporter {
                name: Some("市民".to_string()),
                phone: Some(format!("1{:010}", self.rng.gen_range(3_000_000_000u64..9_999_999_999))),
                user_id: None,
            },
            holder: unit(UnitKind::Region, &district),
            suggested_org_code: Some(category.default_org_code.clone()),
        };
        let order = open_order(seed, &self.limits, &self.calendar, created_at);
        let mut created = HistoryEntry::new(created_at, "created", Some(actor(Role::DistrictDispatcher)));
        created.to_status = Some(order.status.as_str().to_string());
        let mut run = Run { order, history: vec![created], at: created_at, end: self.plan.end_ms, limits: &self.limits, calendar: &self.calendar };

        let r = &mut self.rng;
        if r.gen_bool(0.02) {
            run.act(r.gen_range(5..60) * MINUTE, Role::DistrictDispatcher, Command::Terminate { reason: "重复来电".into() });
            return run.finish(self.plan.with_history);
        }
        let to_street = Command::Dispatch { to: unit(UnitKind::Region, &street), note: None };
        let handled_by_community = r.gen_bool(0.55);
        let mut ok = run.act(r.gen_range(5..45) * MINUTE, Role::DistrictDispatcher, to_street);
        let respond_limit = run.order.response_due_at - created_at;
        if handled_by_community {
            ok = ok && run.act(r.gen_range(5..60) * MINUTE, Role::StreetDispatcher, Command::Dispatch { to: unit(UnitKind::Region, &community), note: None });
        } else {
            if r.gen_bool(0.06) {
                // Sent to the community first, which returns it as not its business.
                ok = ok
                    && run.act(r.gen_range(5..60) * MINUTE, Role::StreetDispatcher, Command::Dispatch { to: unit(UnitKind::Region, &community), note: None })
                    && run.act(r.gen_range(10..120) * MINUTE, Role::CommunityWorker, Command::Return { reason: "不属于社区职责".into() });
            }
            ok = ok && run.act(r.gen_range(5..60) * MINUTE, Role::StreetDispatcher, Command::Dispatch { to: department, note: None });
        }
        let handler = if handled_by_community { Role::CommunityWorker } else { Role::DepartmentHandler };
        // Most answer well inside the response limit; about one in twenty is late.
        let answer_in = if r.gen_bool(0.05) {
            respond_limit + r.gen_range(1..=respond_limit.max(1))
        } else {
            r.gen_range(respond_limit / 20..=respond_limit / 2).max(MINUTE)
        };
        let answer_at = created_at + answer_in;
        ok = ok && run.act((answer_at - run.at).max(MINUTE), handler, Command::Accept { note: None });
        let mut rounds = 0;
        while ok {
            rounds += 1;
            let window = (run.order.resolve_due_at - run.at).max(HOUR);
            let resolve_in =
                if r.gen_bool(0.08) { window + r.gen_range(HOUR..=window.max(HOUR + 1)) } else { r.gen_range(window / 10..=window * 9 / 10).max(MINUTE) };
            ok = run.act(resolve_in, handler, Command::Resolve { result: "已处置完毕".into(), attachments: Vec::new() });
            let solved = r.gen_bool(0.88);
            let satisfaction = match r.gen_range(0..100) {
                0..=71 => Satisfaction::Satisfied,
                72..=89 => Satisfaction::BasicallySatisfied,
                _ => Satisfaction::Unsatisfied,
            };
            let callback = Command::Callback { solved, satisfaction, note: None, channel: "phone".into() };
            ok = ok && run.act(r.gen_range(2 * HOUR..2 * DAY), Role::DistrictDispatcher, callback);
            let reopen = (!solved || satisfaction == Satisfaction::Unsatisfied) && rounds == 1 && r.gen_bool(0.4);
            if !ok || !reopen {
                break;
            }
            ok = run.act(r.gen_range(10..120) * MINUTE, Role::DistrictDispatcher, Command::Reopen { note: Some("群众不满意，重新办理".into()) });
        }
        if ok {
            run.act(r.gen_range(10..240) * MINUTE, Role::DistrictDispatcher, Command::Close { note: None });
        }
        run.finish(self.plan.with_history)
    }
}

impl Iterator for OrderHistory {
    type Item = ImportedOrder;

    fn next(&mut self) -> Option<ImportedOrder> {
        if self.next >= self.plan.orders {
            return None;
        }
        let window = i64::from(self.plan.days) * DAY;
        let start = self.plan.end_ms - window;
        let step = window / self.plan.orders.max(1) as i64;
        let created_at = start + self.next as i64 * step + self.rng.gen_range(0..step.max(1));
        self.next += 1;
        Some(self.play(created_at))
    }
}

/// One order being played forward in time.
struct Run<'a> {
    order: WorkOrder,
    history: Vec<HistoryEntry>,
    at: i64,
    end: i64,
    limits: &'a TimeLimits,
    calendar: &'a BusinessCalendar,
}

impl Run<'_> {
    /// Acts `after` ms from the last step, letting the deadline sweep run first, as the live
    /// system would; false (and nothing done) when that moment lies past the window.
    fn act(&mut self, after: i64, role: Role, command: Command) -> bool {
        let at = self.at + after;
        if at > self.end {
            return false;
        }
        self.sweep_until(at);
        let ctx = ActionContext { now: at, actor: actor(role), limits: self.limits, calendar: self.calendar };
        match apply(&self.order, command, &ctx) {
            Ok((next, entry)) => {
                self.order = next;
                self.history.push(entry);
                self.at = at;
                true
            }
            Err(_) => false,
        }
    }

    /// Every deadline check due by `until`, at the moment it fell due.
    fn sweep_until(&mut self, until: i64) {
        while let Some(check) = self.order.next_check_at.filter(|check| *check <= until) {
            let Some((swept, entries)) = sweep(&self.order, check, self.limits) else { break };
            self.order = swept;
            self.history.extend(entries);
        }
    }

    fn finish(mut self, with_history: bool) -> ImportedOrder {
        self.sweep_until(self.end);
        ImportedOrder { order: self.order, history: if with_history { self.history } else { Vec::new() } }
    }
}

fn unit(kind: UnitKind, code: &str) -> Unit {
    Unit { kind, code: code.to_string(), name: code.to_string() }
}

fn actor(role: Role) -> ActorRef {
    ActorRef { user_id: 0, username: format!("history.{}", role.as_str()), role }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linli_domain::governance::OrderStatus;

    fn plan(orders: u64) -> HistoryPlan {
        HistoryPlan { seed: 7, orders, end_ms: 1_780_000_000_000, days: 30, with_history: true }
    }

    #[test]
    fn orders_go_round_the_loop_and_the_last_are_still_open() {
        let orders: Vec<_> = OrderHistory::new(plan(3_000)).collect();
        assert_eq!(orders.len(), 3_000);
        let count = |status: OrderStatus| orders.iter().filter(|o| o.order.status == status).count();
        let closed = count(OrderStatus::Closed);
        assert!(closed > 2_400, "closed: {closed}");
        assert!(count(OrderStatus::Terminated) > 20);
        assert!(orders.iter().any(|o| o.order.reopen_count > 0));
        assert!(orders.iter().any(|o| o.order.overdue));
        assert!(orders.iter().any(|o| o.order.responded_at.is_some_and(|at| at > o.order.response_due_at)));
        // The newest orders have not had time to close.
        let open_late = orders[2_900..].iter().filter(|o| o.order.status.is_open()).count();
        assert!(open_late > 50, "open near the end: {open_late}");
        for imported in &orders {
            assert!(imported.history.windows(2).all(|w| w[0].at <= w[1].at));
            assert!(imported.history.last().unwrap().at <= 1_780_000_000_000);
            assert_eq!(imported.history.first().unwrap().action, "created");
        }
        // Deterministic.
        let again: Vec<_> = OrderHistory::new(plan(3_000)).collect();
        assert_eq!(orders, again);
    }

    #[test]
    fn the_city_regions_hang_under_the_city() {
        let ImportBatch::Regions(rows) = city_regions() else { panic!("regions expected") };
        assert_eq!(rows.len(), 15 * (1 + OTHER_STREETS as usize * (1 + OTHER_COMMUNITIES as usize)));
        assert!(rows.iter().all(|(_, r)| r.code.starts_with("110") && r.code != DISTRICT_CODE));
    }
}
