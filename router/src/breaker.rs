//! A circuit breaker per backend: closed, open after N consecutive failures, half-open (one trial
//! request) after a cooldown; a success closes it, a failed trial opens it again.

use serde::Serialize;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

#[derive(Debug)]
pub(crate) struct Breaker {
    threshold: u32,
    cooldown: Duration,
    consecutive_failures: u32,
    opened_at: Option<Instant>,
    trial_in_flight: bool,
}

impl Breaker {
    pub(crate) fn new(threshold: u32, cooldown: Duration) -> Self {
        Breaker {
            threshold: threshold.max(1),
            cooldown,
            consecutive_failures: 0,
            opened_at: None,
            trial_in_flight: false,
        }
    }

    pub(crate) fn state(&self, now: Instant) -> BreakerState {
        match self.opened_at {
            None => BreakerState::Closed,
            Some(at) if now.duration_since(at) >= self.cooldown => BreakerState::HalfOpen,
            Some(_) => BreakerState::Open,
        }
    }

    /// Whether a request could go through now, without taking the half-open trial.
    pub(crate) fn would_allow(&self, now: Instant) -> bool {
        match self.state(now) {
            BreakerState::Closed => true,
            BreakerState::Open => false,
            BreakerState::HalfOpen => !self.trial_in_flight,
        }
    }

    /// Lets a request through; returns whether it is the half-open trial.
    pub(crate) fn try_acquire(&mut self, now: Instant) -> Option<bool> {
        match self.state(now) {
            BreakerState::Closed => Some(false),
            BreakerState::Open => None,
            BreakerState::HalfOpen if self.trial_in_flight => None,
            BreakerState::HalfOpen => {
                self.trial_in_flight = true;
                Some(true)
            }
        }
    }

    pub(crate) fn on_success(&mut self) {
        self.consecutive_failures = 0;
        self.opened_at = None;
        self.trial_in_flight = false;
    }

    /// Returns true when this failure opened the circuit.
    pub(crate) fn on_failure(&mut self, now: Instant) -> bool {
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        let was_trial = self.trial_in_flight;
        self.trial_in_flight = false;
        if was_trial || (self.opened_at.is_none() && self.consecutive_failures >= self.threshold) {
            self.opened_at = Some(now);
            return true;
        }
        false
    }

    /// A request ended without a verdict (cancelled): free the trial slot.
    pub(crate) fn abandon(&mut self, was_trial: bool) {
        if was_trial {
            self.trial_in_flight = false;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_then_half_opens_once_then_closes() {
        let cooldown = Duration::from_secs(10);
        let mut b = Breaker::new(3, cooldown);
        let t0 = Instant::now();
        assert!(!b.on_failure(t0));
        assert!(!b.on_failure(t0));
        b.on_success();
        assert!(!b.on_failure(t0));
        assert!(!b.on_failure(t0));
        assert!(b.on_failure(t0));
        assert_eq!(b.state(t0), BreakerState::Open);
        assert_eq!(b.try_acquire(t0), None);
        let later = t0 + cooldown;
        assert_eq!(b.state(later), BreakerState::HalfOpen);
        assert_eq!(b.try_acquire(later), Some(true));
        assert_eq!(b.try_acquire(later), None, "one trial at a time");
        assert!(b.on_failure(later), "a failed trial opens again");
        assert_eq!(b.state(later), BreakerState::Open);
        let again = later + cooldown;
        assert_eq!(b.try_acquire(again), Some(true));
        b.abandon(true);
        assert_eq!(
            b.try_acquire(again),
            Some(true),
            "an abandoned trial frees the slot"
        );
        b.on_success();
        assert_eq!(b.state(again), BreakerState::Closed);
    }
}
