//! One checker per attack family. Each takes a decoded value and says why it is an
//! attack, or nothing; none keeps state or does IO.

pub mod code;
pub mod commands;
pub mod files;
pub mod injection;
pub mod protocol;
pub mod ssrf;
