use serde::{Deserialize, Serialize};

/// One page of a cursor-paginated list: `{"items": [...], "next": "<cursor>" | null}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Opaque cursor for the next page (`?after=`), null on the last page.
    pub next: Option<String>,
}

/// Default and maximum page sizes (DESIGN §3).
pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 200;
