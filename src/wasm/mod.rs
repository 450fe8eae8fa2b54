//! The JavaScript surface. Everything here converts between JS values and the pure core; no
//! decision is made in this layer.

mod challenges;

pub use challenges::parse_challenges;
