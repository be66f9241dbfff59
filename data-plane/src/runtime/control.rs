//! What the worker wants a task to do, apart from the task machinery: the
//! `errors.*` retry loop waits on it, and that module is built without the
//! `runtime` feature too.

use crate::protocol::TargetState;

/// What the worker wants a task to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Run,
    Pause,
    Stop,
}

impl From<TargetState> for Control {
    fn from(t: TargetState) -> Control {
        match t {
            TargetState::Running => Control::Run,
            TargetState::Paused => Control::Pause,
            TargetState::Stopped => Control::Stop,
        }
    }
}
