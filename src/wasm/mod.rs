//! The JavaScript surface: the only code that touches JS. It converts between JS values and the
//! pure core, does the fetch plumbing, and calls the app's hooks; the decisions are the core's.

mod auth_fetch;
mod challenges;
mod glue;
mod options;

pub use auth_fetch::AuthFetchCore;
pub use challenges::parse_challenges;
