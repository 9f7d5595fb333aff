//! Input rules shared by the operations. Each check names the field and says why, and
//! never echoes the value (it might be a mistyped password).

use crate::StoreError;

/// Longest tenant name, token name or display name, in characters.
pub(crate) const MAX_NAME_CHARS: usize = 100;
/// Longest login, in characters.
pub(crate) const MAX_LOGIN_CHARS: usize = 64;
/// Longest origin source (an address, `cli`), in characters.
pub(crate) const MAX_SOURCE_CHARS: usize = 200;

/// A human-readable name: not empty, no surrounding white space, no control
/// characters, at most [`MAX_NAME_CHARS`].
pub(crate) fn name(field: &'static str, value: &str) -> Result<(), StoreError> {
    if value.trim().is_empty() {
        return Err(StoreError::invalid(field, "must not be empty"));
    }
    if value.trim() != value {
        return Err(StoreError::invalid(
            field,
            "must not start or end with white space",
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(StoreError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    if value.chars().count() > MAX_NAME_CHARS {
        return Err(StoreError::invalid(field, "must be at most 100 characters"));
    }
    Ok(())
}

/// A login: 1 to [`MAX_LOGIN_CHARS`] ASCII letters, digits and `.`, `_`, `-`, `@`;
/// returned lower-cased, which is how logins are stored and compared.
pub(crate) fn login(value: &str) -> Result<String, StoreError> {
    if value.is_empty() {
        return Err(StoreError::invalid("login", "must not be empty"));
    }
    if value.len() > MAX_LOGIN_CHARS {
        return Err(StoreError::invalid(
            "login",
            "must be at most 64 characters",
        ));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'))
    {
        return Err(StoreError::invalid(
            "login",
            "may hold only ASCII letters, digits and . _ - @",
        ));
    }
    Ok(value.to_ascii_lowercase())
}

/// Where a change came from: 1 to [`MAX_SOURCE_CHARS`] characters, no control
/// characters.
pub(crate) fn source(value: &str) -> Result<(), StoreError> {
    if value.is_empty() {
        return Err(StoreError::invalid("source", "must not be empty"));
    }
    if value.chars().any(char::is_control) {
        return Err(StoreError::invalid(
            "source",
            "must not contain control characters",
        ));
    }
    if value.chars().count() > MAX_SOURCE_CHARS {
        return Err(StoreError::invalid(
            "source",
            "must be at most 200 characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(r: Result<impl Sized, StoreError>) -> Option<&'static str> {
        match r {
            Err(StoreError::Invalid { field, .. }) => Some(field),
            _ => None,
        }
    }

    #[test]
    fn names() {
        assert!(name("name", "Acme Corp").is_ok());
        assert!(name("name", "Société Générale").is_ok());
        assert!(name("name", &"é".repeat(MAX_NAME_CHARS)).is_ok());
        for bad in ["", " ", "a ", "\u{7}bell", &"é".repeat(MAX_NAME_CHARS + 1)] {
            assert_eq!(field(name("name", bad)), Some("name"), "{bad:?}");
        }
    }

    #[test]
    fn logins_are_lower_cased_ascii() {
        assert_eq!(
            login("Alice.B@Example-1_x").ok().as_deref(),
            Some("alice.b@example-1_x")
        );
        for bad in ["", "a b", "ålice", "a/b", &"a".repeat(MAX_LOGIN_CHARS + 1)] {
            assert_eq!(field(login(bad)), Some("login"), "{bad:?}");
        }
    }

    #[test]
    fn sources() {
        assert!(source("cli").is_ok());
        assert!(source("[2001:db8::1]:443").is_ok());
        for bad in ["", "a\nb", &"s".repeat(MAX_SOURCE_CHARS + 1)] {
            assert_eq!(field(source(bad)), Some("source"), "{bad:?}");
        }
    }
}
