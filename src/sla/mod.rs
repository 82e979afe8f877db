//! SLA engine: business calendars, policies and clocks as pure functions (DESIGN §5).
//!
//! - [`Calendar`]: which instants are business time in a zone, with
//!   [`Calendar::business_minutes_between`] and [`Calendar::add_business_minutes`].
//! - [`Policy::compile`]: checks an admin-written [`crate::model::SlaPolicy`] once.
//! - [`evaluate`]: `(policy, events, now) -> SlaReport`, cheap enough to run for every
//!   ticket on every read; [`next_due_at`] gives the instant a queue sorts by.
//!
//! No I/O, not async. docs/sla.md states the rules with worked examples.

mod calendar;
mod clock;
mod policy;
mod zone;

pub use calendar::Calendar;
pub use clock::{Event, EventKind, evaluate, next_due_at};
pub use policy::{DEFAULT_WARNING_PERCENT, MAX_TARGET_MIN, Policy, PolicyError};
