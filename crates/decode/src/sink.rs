//! [`Sink`]: where decoders deliver events and errors.

use watchfloor_event::Event;

use crate::DecodeError;

/// Receives what a decoder produces. The event is lent, not given: decoders reuse one
/// `Event` for every record, so a sink that keeps events must clone them.
pub trait Sink {
    fn event(&mut self, ev: &Event);
    fn error(&mut self, err: DecodeError);
}

/// A sink that keeps every event and error; for tests and small inputs.
#[derive(Debug, Default)]
pub struct Collect {
    pub events: Vec<Event>,
    pub errors: Vec<DecodeError>,
}

impl Sink for Collect {
    fn event(&mut self, ev: &Event) {
        self.events.push(ev.clone());
    }
    fn error(&mut self, err: DecodeError) {
        self.errors.push(err);
    }
}
