//! Allowlists: values known to be benign, kept out of intelligence on import.
//!
//! The MISP warninglists are parsed and matched by the analysis engine
//! (`watchfloor_triage::warninglist`), which sits above this crate; depending on it
//! from here would turn the layering around. So an [`Allowlist`] is a closure: the
//! caller that holds the warninglists wraps their lookup:
//!
//! ```ignore
//! let lists: watchfloor_triage::warninglist::Warninglists = /* loaded */;
//! let allow = Allowlist::new(|_kind, value| lists.matches(value).map(str::to_owned));
//! let ctx = ImportContext::new("feed").with_allowlist(&allow);
//! ```

use std::fmt;

use crate::model::Kind;

/// The lookup: the list a kind and normalised value are on.
type Check<'a> = dyn Fn(Kind, &str) -> Option<String> + Send + Sync + 'a;

/// Says whether a normalised value is known to be benign, and on which list.
pub struct Allowlist<'a> {
    check: Box<Check<'a>>,
}

impl<'a> Allowlist<'a> {
    /// `check` gets the kind and the normalised value and returns the name of the
    /// list the value is on, if any.
    pub fn new(check: impl Fn(Kind, &str) -> Option<String> + Send + Sync + 'a) -> Allowlist<'a> {
        Allowlist {
            check: Box::new(check),
        }
    }

    /// The list `value` is on, if any.
    pub fn is_allowlisted(&self, kind: Kind, value: &str) -> Option<String> {
        (self.check)(kind, value)
    }
}

impl fmt::Debug for Allowlist<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Allowlist(..)")
    }
}
