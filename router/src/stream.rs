//! Streamed completions: [`ChatStream`] passes the upstream SSE bytes through unchanged while a
//! [`SseCounter`] reads its `data:` lines to count tokens and time the first token; the figures
//! are shared through a [`StreamUsage`] handle and added to the backend's metrics when the stream
//! ends (or is dropped).

use crate::backend::Lease;
use crate::error::RouterError;
use bytes::Bytes;
use futures_util::Stream;
use serde::Serialize;
use serde_json::Value;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Instant;

/// Token counts of one completion, as vLLM reports them in `usage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

impl Usage {
    /// Reads `{"prompt_tokens": .., "completion_tokens": ..}`; `None` when either is missing.
    pub(crate) fn from_json(usage: &Value) -> Option<Usage> {
        Some(Usage {
            prompt_tokens: usage.get("prompt_tokens")?.as_u64()?,
            completion_tokens: usage.get("completion_tokens")?.as_u64()?,
        })
    }
}

#[derive(Debug, Default)]
struct UsageCells {
    prompt_tokens: AtomicU64,
    completion_tokens: AtomicU64,
    /// Time to first token in microseconds, plus one; 0 while no content has arrived.
    ttft_micros_plus_one: AtomicU64,
    reported: AtomicBool,
    finished: AtomicBool,
}

/// A shared, lock-free view of a stream's figures. Clone it from [`ChatStream::usage`] before
/// handing the stream to the HTTP layer, and read it once the stream has ended
/// ([`StreamUsage::is_finished`]); reading earlier gives the figures so far.
///
/// Tokens: when a chunk carries a `usage` object (vLLM does with
/// `"stream_options": {"include_usage": true}`) its counts are used; otherwise the prompt count
/// stays 0 and every chunk with non-empty `choices[].delta.content` counts as one completion token
/// (vLLM sends about one token per chunk).
#[derive(Debug, Clone, Default)]
pub struct StreamUsage {
    cells: Arc<UsageCells>,
}

impl StreamUsage {
    /// Prompt tokens: from the backend's `usage`, else 0.
    pub fn prompt_tokens(&self) -> u64 {
        self.cells.prompt_tokens.load(Ordering::Acquire)
    }

    /// Completion tokens: from the backend's `usage`, else the content chunks counted so far.
    pub fn completion_tokens(&self) -> u64 {
        self.cells.completion_tokens.load(Ordering::Acquire)
    }

    /// Both counts.
    pub fn usage(&self) -> Usage {
        Usage {
            prompt_tokens: self.prompt_tokens(),
            completion_tokens: self.completion_tokens(),
        }
    }

    /// Whether the counts come from a `usage` object the backend sent (not from counting chunks).
    pub fn reported_by_backend(&self) -> bool {
        self.cells.reported.load(Ordering::Acquire)
    }

    /// From the call to `chat_stream` (retries and any adapter load included) to the first chunk
    /// with content; `None` while none has arrived.
    pub fn time_to_first_token(&self) -> Option<Duration> {
        match self.cells.ttft_micros_plus_one.load(Ordering::Acquire) {
            0 => None,
            n => Some(Duration::from_micros(n - 1)),
        }
    }

    /// Whether the stream has ended: completed, broken, or dropped by its consumer.
    pub fn is_finished(&self) -> bool {
        self.cells.finished.load(Ordering::Acquire)
    }
}

/// Longest SSE line kept while waiting for its end; a longer one is skipped (not counted).
const MAX_LINE: usize = 1 << 20;

/// Reads SSE `data:` lines out of the byte chunks as they pass, lines split across chunks included.
#[derive(Debug, Default)]
pub(crate) struct SseCounter {
    partial: Vec<u8>,
    skipping: bool,
    content_chunks: u64,
    reported: Option<Usage>,
    saw_content: bool,
}

impl SseCounter {
    /// Feeds one chunk; returns whether it completed the first event with content.
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> bool {
        let had_content = self.saw_content;
        let mut rest = chunk;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            let (head, tail) = rest.split_at(end);
            rest = &tail[1..];
            if self.skipping {
                self.skipping = false;
                self.partial.clear();
                continue;
            }
            if self.partial.is_empty() {
                self.line(head);
            } else {
                self.partial.extend_from_slice(head);
                let line = std::mem::take(&mut self.partial);
                self.line(&line);
            }
        }
        if !self.skipping {
            self.partial.extend_from_slice(rest);
            if self.partial.len() > MAX_LINE {
                self.partial.clear();
                self.skipping = true;
            }
        }
        !had_content && self.saw_content
    }

    fn line(&mut self, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(data) = line.strip_prefix(b"data:") else {
            return;
        };
        let data = data.trim_ascii();
        if data.is_empty() || data == b"[DONE]" {
            return;
        }
        let Ok(event) = serde_json::from_slice::<Value>(data) else {
            return;
        };
        if let Some(usage) = event.get("usage").and_then(Usage::from_json) {
            self.reported = Some(usage);
        }
        let has_content = event
            .get("choices")
            .and_then(Value::as_array)
            .is_some_and(|choices| {
                choices.iter().any(|c| {
                    c.pointer("/delta/content")
                        .and_then(Value::as_str)
                        .is_some_and(|s| !s.is_empty())
                })
            });
        if has_content {
            self.content_chunks += 1;
            self.saw_content = true;
        }
    }

    /// The counts so far: the backend's `usage` if it sent one, else the content chunks.
    pub(crate) fn usage(&self) -> (Usage, bool) {
        match self.reported {
            Some(usage) => (usage, true),
            None => (
                Usage {
                    prompt_tokens: 0,
                    completion_tokens: self.content_chunks,
                },
                false,
            ),
        }
    }
}

/// An SSE body passed through chunk by chunk, unchanged; dropping it closes the upstream
/// connection. It is a `Stream` of `Result<Bytes, RouterError>` (and `Unpin`); a broken upstream
/// ends it with one [`RouterError::StreamInterrupted`] item.
pub struct ChatStream {
    inner: Pin<Box<dyn Stream<Item = Result<Bytes, RouterError>> + Send + 'static>>,
    usage: StreamUsage,
    backend: String,
}

impl std::fmt::Debug for ChatStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatStream")
            .field("backend", &self.backend)
            .field("usage", &self.usage)
            .finish_non_exhaustive()
    }
}

impl ChatStream {
    /// A handle on the stream's token counts and time to first token; keep a clone to read them
    /// after the stream has been consumed.
    pub fn usage(&self) -> StreamUsage {
        self.usage.clone()
    }

    /// The backend that serves the stream.
    pub fn backend(&self) -> &str {
        &self.backend
    }
}

impl Stream for ChatStream {
    type Item = Result<Bytes, RouterError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// The state behind a [`ChatStream`]: the upstream response and the bookkeeping that ends with it.
pub(crate) struct StreamState {
    lease: Lease,
    response: reqwest::Response,
    first: Option<Bytes>,
    idle: Duration,
    done: bool,
    started: Instant,
    counter: SseCounter,
    usage: StreamUsage,
    finalized: bool,
}

impl StreamState {
    fn observe(&mut self, chunk: &[u8]) {
        if self.counter.feed(chunk) {
            let elapsed = self.started.elapsed();
            self.lease.backend.metrics.ttft.observe(elapsed);
            let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX - 1);
            self.usage
                .cells
                .ttft_micros_plus_one
                .store(micros.saturating_add(1), Ordering::Release);
        }
        self.publish();
    }

    fn publish(&self) {
        let (usage, reported) = self.counter.usage();
        let cells = &self.usage.cells;
        cells
            .prompt_tokens
            .store(usage.prompt_tokens, Ordering::Release);
        cells
            .completion_tokens
            .store(usage.completion_tokens, Ordering::Release);
        cells.reported.store(reported, Ordering::Release);
    }

    /// Records latency and tokens on the backend, once.
    fn finalize(&mut self) {
        if self.finalized {
            return;
        }
        self.finalized = true;
        self.publish();
        let (usage, _) = self.counter.usage();
        let metrics = &self.lease.backend.metrics;
        metrics.latency.observe(self.started.elapsed());
        metrics.add_tokens(usage.prompt_tokens, usage.completion_tokens);
        self.usage.cells.finished.store(true, Ordering::Release);
    }
}

impl Drop for StreamState {
    fn drop(&mut self) {
        self.finalize();
    }
}

/// Wraps a started upstream stream whose first chunk has arrived.
pub(crate) fn start(
    lease: Lease,
    response: reqwest::Response,
    first: Bytes,
    idle: Duration,
    started: Instant,
) -> ChatStream {
    let usage = StreamUsage::default();
    let backend = lease.backend.name().to_string();
    let state = StreamState {
        lease,
        response,
        first: Some(first),
        idle,
        done: false,
        started,
        counter: SseCounter::default(),
        usage: usage.clone(),
        finalized: false,
    };
    ChatStream {
        inner: Box::pin(futures_util::stream::unfold(state, next_chunk)),
        usage,
        backend,
    }
}

async fn next_chunk(mut s: StreamState) -> Option<(Result<Bytes, RouterError>, StreamState)> {
    if s.done {
        return None;
    }
    if let Some(first) = s.first.take() {
        s.observe(&first);
        return Some((Ok(first), s));
    }
    let reason = match tokio::time::timeout(s.idle, s.response.chunk()).await {
        Ok(Ok(Some(chunk))) => {
            s.observe(&chunk);
            return Some((Ok(chunk), s));
        }
        Ok(Ok(None)) => {
            s.lease.succeed();
            s.finalize();
            return None;
        }
        Ok(Err(e)) => format!("the connection failed: {e}"),
        Err(_) => format!("no data for {:?}", s.idle),
    };
    s.lease.fail();
    s.done = true;
    s.finalize();
    let backend = s.lease.backend.name().to_string();
    tracing::warn!(%backend, %reason, "stream interrupted");
    Some((Err(RouterError::StreamInterrupted { backend, reason }), s))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const EVENTS: &str = concat!(
        "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n",
        "data: {\"choices\":[{\"delta\":{\"content\":\"Hello\"}}]}\n\n",
        "data: {\"choices\":[{\"delta\":{\"content\":\" world\"}}]}\r\n\r\n",
        "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
        "data: [DONE]\n\n"
    );

    #[test]
    fn content_chunks_are_counted_whatever_the_split() {
        for size in [1, 2, 3, 7, 64, EVENTS.len()] {
            let mut counter = SseCounter::default();
            let mut firsts = 0;
            for piece in EVENTS.as_bytes().chunks(size) {
                firsts += usize::from(counter.feed(piece));
            }
            assert_eq!(firsts, 1, "split {size}");
            assert_eq!(
                counter.usage(),
                (
                    Usage {
                        prompt_tokens: 0,
                        completion_tokens: 2
                    },
                    false
                ),
                "split {size}"
            );
        }
    }

    #[test]
    fn a_usage_object_wins_over_counting() {
        let mut counter = SseCounter::default();
        counter.feed(EVENTS.as_bytes());
        counter.feed(
            b"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":9}}\n\n",
        );
        assert_eq!(
            counter.usage(),
            (
                Usage {
                    prompt_tokens: 5,
                    completion_tokens: 9
                },
                true
            )
        );
    }

    #[test]
    fn an_overlong_line_is_skipped_and_the_next_ones_still_count() {
        let mut counter = SseCounter::default();
        counter.feed(b"data: ");
        counter.feed(&vec![b'x'; MAX_LINE + 10]);
        counter.feed(b"still the same line\n");
        counter.feed(b"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n");
        assert_eq!(counter.usage().0.completion_tokens, 1);
    }
}
