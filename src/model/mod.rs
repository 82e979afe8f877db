//! Wire types shared by the client and the server: what travels over the API.
//!
//! This module does no I/O. Every type here serialises with stable snake_case
//! keys because the CLI's `--json` output and the HTTP API are contracts.

mod crm;
mod error;
mod event;
mod filter;
mod ids;
mod integrations;
mod page;
mod sla;
mod ticket;
mod workspace;

pub use crm::*;
pub use error::*;
pub use event::*;
pub use filter::*;
pub use ids::*;
pub use integrations::*;
pub use page::*;
pub use sla::*;
pub use ticket::*;
pub use workspace::*;
