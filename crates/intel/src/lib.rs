//! Cyber intelligence: indicators (addresses, networks, domains, URLs, e-mail
//! addresses, file hashes, user agents, JA3 fingerprints) with every source's
//! attribution, confidence, TLP and validity.
//!
//! - [`model`] holds the vocabulary: [`Kind`], [`Tlp`], [`Attribution`],
//!   [`NewIndicator`], and [`normalize`], which gives each value the one spelling it is
//!   stored and matched under.
//! - [`store`] keeps indicators in memory, merged across sources, and matches values
//!   and free text against them: [`Intel`].
//! - [`export`] writes them out as STIX 2.1 bundles and MISP events, with TLP enforced
//!   (nothing above the recipient's level, never TLP:RED).

pub mod export;
pub mod import;
pub mod model;
pub mod store;

pub use model::{Attribution, Kind, NewIndicator, NormalizeError, Tlp, normalize};
pub use store::{
    Added, AttributionRef, IndicatorId, IndicatorView, Intel, IntelStats, Match, MemoryUse,
};
