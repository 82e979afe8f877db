//! Integer ids, one newtype per entity so that a contact id can never be
//! passed where a ticket id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl From<i64> for $name {
            fn from(v: i64) -> Self {
                Self(v)
            }
        }
    )*};
}

id_type!(
    /// A ticket, shown to people as `#1042`.
    TicketId,
    MessageId,
    ContactId,
    AccountId,
    ActivityId,
    TaskId,
    AgentId,
    TeamId,
    ViewId,
    MacroId,
    SlaPolicyId,
    NotificationId,
    TokenId,
    AutoResponderId,
);
