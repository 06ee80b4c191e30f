//! Live events of sessions (steps, state changes, approvals), fanned out to SSE and gRPC
//! streams: an in-process broadcast, or Redis pub/sub across replicas when configured.

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

/// One live event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveEvent {
    pub tenant_id: uuid::Uuid,
    pub session_id: Option<uuid::Uuid>,
    pub incident_id: Option<uuid::Uuid>,
    /// `step`, `session_state`, `incident_state`, `approval`.
    pub kind: String,
    pub payload: serde_json::Value,
}

/// The fan-out of live events.
#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<LiveEvent>,
}

impl EventBus {
    pub fn in_process() -> EventBus {
        let (tx, _) = broadcast::channel(4096);
        EventBus { tx }
    }

    pub fn publish(&self, event: LiveEvent) {
        let _ = self.tx.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.tx.subscribe()
    }
}
