//! The event centre and the work-order closed loop (接诉即办): events and incidents, work orders
//! and their lifecycle, time limits on a business calendar, whistles (吹哨报到), community
//! applications and the three rates. Pure rules: the store keeps the records, the API calls these.
pub mod calendar;
pub mod event;
pub mod order;
pub mod rates;
pub mod settings;
pub mod taxonomy;
pub mod unit;
pub mod whistle;

pub use calendar::BusinessCalendar;
pub use event::{Event, EventSource, Incident, NewEvent, Severity};
pub use order::{Action, OrderStatus, Satisfaction, WorkOrder};
pub use taxonomy::{Category, Urgency};
pub use unit::{Unit, UnitKind};
pub use whistle::Whistle;
