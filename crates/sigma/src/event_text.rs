//! [`EventText`]: per-evaluation scratch shared by the tests of all rules run on one
//! event. It holds the event's string arena ASCII-lower-cased once, so a keyword search
//! (a `contains` list over every value) is one pass over one buffer instead of a fold
//! and a search per value.

use watchfloor_event::FieldAccess;

/// The lower-cased string arena of the event being evaluated. Call
/// [`EventText::reset`] before each event.
#[derive(Debug, Default)]
pub struct EventText {
    lowered: Vec<u8>,
    state: State,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum State {
    #[default]
    Unknown,
    /// `lowered` holds the arena; `ascii` says whether it was pure ASCII.
    Ready { ascii: bool },
    /// The event has no arena.
    Absent,
}

/// What a keyword search over the arena may use.
pub(crate) struct Arena<'a> {
    /// The arena with ASCII letters lower-cased (other bytes unchanged).
    pub lowered: &'a [u8],
    /// Whether the arena is pure ASCII (then no non-ASCII needle can occur in it).
    pub ascii: bool,
}

impl EventText {
    /// Forgets the previous event.
    pub fn reset(&mut self) {
        self.state = State::Unknown;
    }

    /// The lowered arena of `ev`, built on first use for this event.
    pub(crate) fn arena<E: FieldAccess>(&mut self, ev: &E) -> Option<Arena<'_>> {
        if self.state == State::Unknown {
            self.state = match ev.string_arena() {
                Some(text) => {
                    if self.lowered.capacity() > (4 << 20) && text.len() < (1 << 20) {
                        self.lowered = Vec::new();
                    }
                    self.lowered.clear();
                    self.lowered.extend_from_slice(text.as_bytes());
                    self.lowered.make_ascii_lowercase();
                    State::Ready {
                        ascii: text.is_ascii(),
                    }
                }
                None => State::Absent,
            };
        }
        match self.state {
            State::Ready { ascii } => Some(Arena {
                lowered: &self.lowered,
                ascii,
            }),
            _ => None,
        }
    }
}
