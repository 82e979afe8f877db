//! SLA engine: business calendars, policies and clocks as pure functions.
