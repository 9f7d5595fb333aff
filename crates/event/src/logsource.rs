//! The Sigma logsource triple of an event.

use std::borrow::Cow;
use std::fmt;

/// What kind of log an event is, in Sigma's terms: `product` (windows, linux, zeek, …),
/// `category` (process_creation, dns, webserver, …) and `service` (security, sysmon,
/// sshd, …). Known values are static strings; only unusual ones allocate.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct LogSource {
    pub product: Option<Cow<'static, str>>,
    pub category: Option<Cow<'static, str>>,
    pub service: Option<Cow<'static, str>>,
}

impl LogSource {
    pub const fn new(
        product: Option<&'static str>,
        category: Option<&'static str>,
        service: Option<&'static str>,
    ) -> Self {
        Self {
            product: match product {
                Some(p) => Some(Cow::Borrowed(p)),
                None => None,
            },
            category: match category {
                Some(c) => Some(Cow::Borrowed(c)),
                None => None,
            },
            service: match service {
                Some(s) => Some(Cow::Borrowed(s)),
                None => None,
            },
        }
    }

    pub fn product(&self) -> Option<&str> {
        self.product.as_deref()
    }
    pub fn category(&self) -> Option<&str> {
        self.category.as_deref()
    }
    pub fn service(&self) -> Option<&str> {
        self.service.as_deref()
    }
}

impl fmt::Display for LogSource {
    /// `product/category/service`, with `-` for an absent part.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let part = |p: &Option<Cow<'static, str>>| p.as_deref().unwrap_or("-").to_string();
        write!(
            f,
            "{}/{}/{}",
            part(&self.product),
            part(&self.category),
            part(&self.service)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_marks_absent_parts() {
        let ls = LogSource::new(Some("windows"), None, Some("sysmon"));
        assert_eq!(ls.to_string(), "windows/-/sysmon");
        assert_eq!(ls.service(), Some("sysmon"));
    }
}
