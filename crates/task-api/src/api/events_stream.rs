//! `GET /v1/events`: a Server-Sent Events stream of the caller's own task and reminder events,
//! read from Kafka (the task-events and reminders topics), resumable with `Last-Event-ID`.
//!
//! # Frames
//! - `: connected` once the stream is positioned: every event committed after this comment
//!   arrives on the stream.
//! - One frame per event: `id: <CloudEvents id>`, `event: <type>`, `data: <the CloudEvent JSON on
//!   one line>`. A type this build does not know is forwarded under its raw name, so new event
//!   types reach clients without a release of this service.
//! - An empty comment every 15 s while nothing else was sent, so proxies keep the connection.
//!
//! # Decisions
//! - **One consumer per connection, outside any consumer group.** Every connection must see
//!   every partition, so a shared group (which splits partitions) cannot serve it. The consumer
//!   `assign`s all partitions of both topics itself and never commits: its position lives only
//!   as long as the connection; the client's cursor is the `Last-Event-ID`. librdkafka allows
//!   `assign` only with a `group.id`, so it gets the fixed [`CLIENT_ID`]: it looks up that group's
//!   coordinator but never joins it and never commits to it (with broker ACLs, the principal
//!   needs Describe on that group). The client configuration comes from
//!   [`service_runtime::kafka::client_config`], so SASL and TLS apply. Every connection reads
//!   all events of all users and keeps the caller's: fine for the connections of one user base
//!   of modest size; at larger scale one shared reader per instance fanning out to the
//!   connections would replace it.
//! - **Start without `Last-Event-ID`**: at the high watermarks read before `: connected` (not
//!   librdkafka's lazy `END`, which is resolved later and would lose events committed in
//!   between): live events only. A client loads the current state with `GET /v1/tasks`.
//! - **Resume with `Last-Event-ID`** (a UUIDv7, which embeds its creation time `T` in ms):
//!   every partition starts at `offsets_for_times(T − 5 s)`; the 5 s absorb clock skew between
//!   the host that created the event and the producer that timestamped its record. Then the
//!   caller's events are delivered except, in the partition that holds the `Last-Event-ID`
//!   event, that event and everything before it (the client had them: one partition is always
//!   delivered in order). Events of the window in other partitions are delivered even if the
//!   client had them: **delivery is at-least-once; a client de-duplicates on `id`**. An id that is
//!   not found (older than the window's clock-skew allowance, or not an event of this stream)
//!   only adds duplicates. An id older than 24 hours is refused (400): its events may have
//!   expired, so the client must reload (`GET /v1/tasks`) and reconnect without it; an
//!   unparseable one is refused (400), naming the header.
//! - **Order**: the events of one partition (so of one task) arrive in order. Across partitions,
//!   while a stream catches up to the watermarks read at its start, events are merged by record
//!   timestamp: an event waits until every other partition has been read past its timestamp or
//!   to its start watermark. Without this a client disconnected in mid catch-up could hold a
//!   `Last-Event-ID` from one partition minutes ahead of unread events of another, and resuming
//!   5 s before it would miss them. Live events are forwarded as read (partitions then differ by
//!   a fetch round trip, well inside the 5 s). While the `Last-Event-ID` event has not been found,
//!   a partition's events wait until it is found or the partition is caught up (they may be
//!   before it). To bound memory, at most [`MAX_HELD`] events wait: beyond that, and after
//!   [`CATCH_UP_LIMIT`], the oldest are sent anyway (order across partitions then degrades; per
//!   partition it never does). "Caught up" compares offsets with the start watermarks, which
//!   assumes offsets without gaps: true for these topics (delete policy, no transactions).
//! - **Filter**: records are decoded with [`event_schema::decode`]; the envelope's `userid`
//!   must be the caller's (a service acting for a user streams that user's events). Records that
//!   do not decode (not an envelope, or known-typed data that breaks its schema) are skipped:
//!   their owner cannot be trusted.
//! - **Back-pressure**: a task owns the consumer and feeds a bounded channel
//!   ([`CHANNEL_CAPACITY`] frames) that the response streams from. A client that lets it stay
//!   full for [`SLOW_CLIENT_GRACE`] is disconnected rather than buffered without bound; it
//!   resumes with its `Last-Event-ID` and loses nothing.
//! - **End**: the task stops, and the consumer is closed, when the client disconnects (the
//!   channel closes), when the service shuts down (so the HTTP server can drain), when the
//!   consumer reports an error (the client reconnects; a broken broker then answers 503), and
//!   after [`MAX_LIFETIME`], so that a connection opened with a token that has since expired or
//!   been revoked does not stream forever (the client reconnects with a fresh token and
//!   `Last-Event-ID`).
//! - **Errors before the stream starts**: no or a refused token → 401/403 like every `/v1`
//!   route; the broker unreachable or the topics missing → 503 with `Retry-After`.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::{Message, Offset, TopicPartitionList};
use service_runtime::CancellationToken;
use service_runtime::auth::Caller;
use service_runtime::problem::ApiError;
use service_runtime::settings::KafkaSettings;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::SendTimeoutError;
use tracing::Instrument as _;
use uuid::Uuid;

use crate::api::AppState;

/// Client id, and the `group.id` librdkafka requires for `assign` (never joined, never committed).
const CLIENT_ID: &str = "task-api-sse";
/// The request header a reconnecting client names its last event in.
const LAST_EVENT_ID: &str = "last-event-id";
/// A keep-alive comment after this much silence.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How far before the `Last-Event-ID` event's creation a resume starts reading.
const RESUME_SLACK: Duration = Duration::from_secs(5);
/// The oldest `Last-Event-ID` a stream resumes from.
const MAX_RESUME_AGE: Duration = Duration::from_secs(24 * 60 * 60);
/// How far ahead of this replica's clock a `Last-Event-ID` may be: ids are minted by the
/// replicas' clocks, which may differ a little, never by minutes.
const MAX_CLOCK_SKEW: Duration = Duration::from_secs(60);
/// Frames buffered between the consumer task and the response.
const CHANNEL_CAPACITY: usize = 256;
/// How long a full channel may stay full before the client is disconnected.
const SLOW_CLIENT_GRACE: Duration = Duration::from_secs(5);
/// Events held for the cross-partition merge before the oldest are sent regardless.
const MAX_HELD: usize = 1024;
/// After this long catching up, the merge stops waiting for slow partitions.
const CATCH_UP_LIMIT: Duration = Duration::from_secs(120);
/// A stream ends after this long; the client reconnects (re-authenticating) and resumes.
const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);
/// Timeout of each metadata, watermark and offset lookup while positioning.
const KAFKA_TIMEOUT: Duration = Duration::from_secs(10);

/// `GET /v1/events`: positions a consumer (answering 503 if the broker or topics are not
/// there), then streams the caller's events until the client leaves.
pub(crate) async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let resume = last_event_id(&headers, Utc::now())?;
    let kafka = state.kafka.clone();
    let topics = [state.topics.task_events.clone(), state.topics.reminders.clone()];
    let since_ms = resume.map(|r| r.since_ms);
    // Metadata, watermark and offset lookups block: keep them off the async workers.
    let (consumer, cursors) = tokio::task::spawn_blocking(move || position(&kafka, &topics, since_ms))
        .await
        .map_err(ApiError::internal)??;

    let (sender, mut receiver) = mpsc::channel(CHANNEL_CAPACITY);
    // Cannot fail: the channel is new and has room.
    let _ = sender.try_send(SseEvent::default().comment("connected"));
    let span = tracing::info_span!("events_stream", user_id = %caller.user_id, resume = resume.is_some());
    let pump = Pump {
        consumer,
        merge: Merge::new(cursors, resume.map(|r| r.id)),
        user_id: caller.user_id,
        sender,
        shutdown: state.shutdown.clone(),
    };
    tokio::spawn(pump.run().instrument(span));

    let frames = futures::stream::poll_fn(move |cx| receiver.poll_recv(cx).map(|frame| frame.map(Ok::<_, Infallible>)));
    Ok(Sse::new(frames).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)).into_response())
}

/// Where a resumed stream starts: the client's last event and the time to read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Resume {
    id: Uuid,
    /// `RESUME_SLACK` before the id's creation time, in ms since the epoch.
    since_ms: i64,
}

/// Reads `Last-Event-ID`: absent or empty is a live stream; otherwise a UUIDv7 at most
/// `MAX_RESUME_AGE` old and not from the future (beyond `MAX_CLOCK_SKEW`): such an id names no
/// event this stream sent, and resuming from it would silently skip everything until then.
fn last_event_id(headers: &HeaderMap, now: DateTime<Utc>) -> Result<Option<Resume>, ApiError> {
    let Some(value) = headers.get(LAST_EVENT_ID) else { return Ok(None) };
    let invalid = || {
        ApiError::bad_request(
            "the Last-Event-ID header must be the id of an event received from this stream (a UUIDv7)",
        )
    };
    let text = value.to_str().map_err(|_| invalid())?.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let id = Uuid::try_parse(text).map_err(|_| invalid())?;
    if id.get_version_num() != 7 {
        return Err(invalid());
    }
    let (seconds, nanos) = id.get_timestamp().ok_or_else(invalid)?.to_unix();
    let created_ms = i64::try_from(seconds).map_err(|_| invalid())?.saturating_mul(1000) + i64::from(nanos / 1_000_000);
    if now.timestamp_millis().saturating_sub(created_ms) > millis(MAX_RESUME_AGE) {
        return Err(ApiError::bad_request(
            "the Last-Event-ID header names an event older than 24 hours; reload the tasks and reconnect without it",
        ));
    }
    if created_ms.saturating_sub(now.timestamp_millis()) > millis(MAX_CLOCK_SKEW) {
        return Err(ApiError::bad_request(
            "the Last-Event-ID header names an event from the future; reconnect without it",
        ));
    }
    Ok(Some(Resume { id, since_ms: created_ms - millis(RESUME_SLACK) }))
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn unavailable(doing: &str) -> impl FnOnce(KafkaError) -> ApiError + '_ {
    move |error| ApiError::unavailable(format!("the event stream is unavailable: {doing}: {error}"))
}

/// The per-connection consumer (see the module's decisions).
fn consumer(kafka: &KafkaSettings) -> Result<StreamConsumer, ApiError> {
    let mut config = service_runtime::kafka::client_config(kafka, CLIENT_ID).map_err(ApiError::internal)?;
    config
        // Required by librdkafka for `assign`; never joined (no `subscribe`), never committed to.
        .set("group.id", CLIENT_ID)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        // A start offset that retention deleted meanwhile: read what remains.
        .set("auto.offset.reset", "earliest")
        // One consumer per connection: bound its prefetch queue (librdkafka's default, 64 MiB,
        // is sized for one consumer per process). 2 MiB still holds many fetches of events.
        .set("queued.max.messages.kbytes", "2048")
        .set("queued.min.messages", "1000");
    config.create().map_err(unavailable("creating the consumer"))
}

/// Creates the consumer, finds every partition of `topics`, reads their high watermarks (the
/// end of the catch-up) and, when resuming, the first offsets at or after `since_ms`; assigns
/// them. Once this returns, every later record is read.
fn position(
    kafka: &KafkaSettings,
    topics: &[String; 2],
    since_ms: Option<i64>,
) -> Result<(StreamConsumer, Vec<Cursor>), ApiError> {
    let consumer = consumer(kafka)?;
    let mut cursors = Vec::new();
    for topic in topics {
        let metadata = consumer.fetch_metadata(Some(topic), KAFKA_TIMEOUT).map_err(unavailable("reading metadata"))?;
        let found = metadata.topics().iter().find(|t| t.name() == topic);
        let partitions = match found {
            Some(t) if t.error().is_none() && !t.partitions().is_empty() => t.partitions(),
            _ => {
                return Err(ApiError::unavailable(format!(
                    "the event stream is unavailable: topic {topic} is missing"
                )));
            }
        };
        for partition in partitions {
            let (_, high) = consumer
                .fetch_watermarks(topic, partition.id(), KAFKA_TIMEOUT)
                .map_err(unavailable("reading watermarks"))?;
            cursors.push(Cursor::new(topic.clone(), partition.id(), high));
        }
    }
    if let Some(since_ms) = since_ms {
        let mut query = TopicPartitionList::new();
        for cursor in &cursors {
            query
                .add_partition_offset(&cursor.topic, cursor.partition, Offset::Offset(since_ms))
                .map_err(unavailable("looking up offsets"))?;
        }
        let offsets = consumer.offsets_for_times(query, KAFKA_TIMEOUT).map_err(unavailable("looking up offsets"))?;
        for cursor in &mut cursors {
            let missing = || ApiError::unavailable("the event stream is unavailable: an offset lookup failed");
            let found = offsets.find_partition(&cursor.topic, cursor.partition).ok_or_else(missing)?;
            found.error().map_err(unavailable("looking up offsets"))?;
            match found.offset() {
                Offset::Offset(offset) => cursor.next = offset.clamp(0, cursor.target),
                // No record at or after `since_ms`: nothing to catch up in this partition.
                Offset::End => {}
                _ => return Err(missing()),
            }
        }
    }
    let mut assignment = TopicPartitionList::new();
    for cursor in &cursors {
        assignment
            .add_partition_offset(&cursor.topic, cursor.partition, Offset::Offset(cursor.next))
            .map_err(unavailable("assigning partitions"))?;
    }
    consumer.assign(&assignment).map_err(unavailable("assigning partitions"))?;
    Ok((consumer, cursors))
}

/// One event of the caller, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Frame {
    id: Uuid,
    event_type: String,
    /// The CloudEvent JSON, on one line.
    data: String,
}

impl Frame {
    fn to_sse(&self) -> SseEvent {
        SseEvent::default().id(self.id.to_string()).event(&self.event_type).data(&self.data)
    }
}

/// The record's event as a frame if it is `user_id`'s; `None` for anyone else's or a record
/// that does not decode.
fn caller_frame(payload: Option<&[u8]>, user_id: &str) -> Option<Frame> {
    let payload = payload?;
    let event = match event_schema::decode(payload) {
        Ok(event) => event,
        Err(error) => {
            // Logged by every open stream: debug only (the relay and the consumers report it).
            tracing::debug!(error = %error, "skipping a record that does not decode");
            return None;
        }
    };
    if event.meta.userid != user_id {
        return None;
    }
    // SSE fields cannot hold line breaks; no real type has one.
    if event.meta.event_type.contains(['\r', '\n']) {
        tracing::debug!(event_id = %event.meta.id, "skipping an event whose type has a line break");
        return None;
    }
    let data = match std::str::from_utf8(payload) {
        Ok(text) if !text.contains(['\r', '\n']) => text.to_owned(),
        // Pretty-printed JSON: re-serialised compactly (JSON strings escape their line breaks).
        _ => serde_json::from_slice::<serde_json::Value>(payload).ok()?.to_string(),
    };
    Some(Frame { id: event.meta.id, event_type: event.meta.event_type, data })
}

/// One assigned partition: where reading is, where its catch-up ends, and the caller's events
/// waiting for the merge.
#[derive(Debug)]
struct Cursor {
    topic: String,
    partition: i32,
    /// The next offset to read.
    next: i64,
    /// The high watermark when the stream started: the catch-up ends here.
    target: i64,
    /// The newest record timestamp read (ms), any user's.
    progress_ms: Option<i64>,
    /// The caller's events read but not sent: (record timestamp, frame), in offset order.
    held: VecDeque<(i64, Frame)>,
}

impl Cursor {
    fn new(topic: String, partition: i32, high_watermark: i64) -> Self {
        Self {
            topic,
            partition,
            next: high_watermark,
            target: high_watermark,
            progress_ms: None,
            held: VecDeque::new(),
        }
    }

    fn caught_up(&self) -> bool {
        self.next >= self.target
    }
}

/// Orders the caller's events for sending (see the module's decisions); no I/O.
#[derive(Debug)]
struct Merge {
    cursors: Vec<Cursor>,
    /// The `Last-Event-ID` until its event is found.
    resume: Option<Uuid>,
    held: usize,
}

impl Merge {
    fn new(cursors: Vec<Cursor>, resume: Option<Uuid>) -> Self {
        Self { cursors, resume, held: 0 }
    }

    fn slot(&self, topic: &str, partition: i32) -> Option<usize> {
        self.cursors.iter().position(|c| c.partition == partition && c.topic == topic)
    }

    /// Notes that `offset` of cursor `slot` was read, and holds `frame` if it is the caller's.
    fn observe(&mut self, slot: usize, offset: i64, timestamp_ms: Option<i64>, frame: Option<Frame>) {
        let Some(cursor) = self.cursors.get_mut(slot) else { return };
        cursor.next = cursor.next.max(offset + 1);
        if let Some(ts) = timestamp_ms {
            cursor.progress_ms = Some(cursor.progress_ms.map_or(ts, |p| p.max(ts)));
        }
        let Some(frame) = frame else { return };
        if self.resume == Some(frame.id) {
            // The client's last event: it had everything before it in this partition.
            self.held -= cursor.held.len();
            cursor.held.clear();
            self.resume = None;
            return;
        }
        let at = timestamp_ms.or(cursor.progress_ms).unwrap_or_default();
        cursor.held.push_back((at, frame));
        self.held += 1;
    }

    /// Stops waiting: every partition counts as caught up, a `Last-Event-ID` not found by now
    /// is given up.
    fn finish_catch_up(&mut self) {
        for cursor in &mut self.cursors {
            cursor.target = cursor.target.min(cursor.next);
        }
        self.resume = None;
    }

    fn caught_up(&self) -> bool {
        self.cursors.iter().all(Cursor::caught_up)
    }

    /// The next event to send, if one may be sent now: the oldest held one, once no partition
    /// can still yield an older one and, while the `Last-Event-ID` is unknown, once its own
    /// partition cannot still yield that event.
    fn pop_ready(&mut self) -> Option<Frame> {
        let (slot, at) = self
            .cursors
            .iter()
            .enumerate()
            .filter_map(|(slot, c)| c.held.front().map(|(at, _)| (slot, *at)))
            .min_by_key(|(slot, at)| (*at, *slot))?;
        let forced = self.held > MAX_HELD;
        let candidate = &self.cursors[slot];
        if !forced && self.resume.is_some() && !candidate.caught_up() {
            return None;
        }
        let behind = |c: &Cursor| c.held.is_empty() && !c.caught_up() && c.progress_ms.is_none_or(|p| p < at);
        if !forced && self.cursors.iter().enumerate().any(|(i, c)| i != slot && behind(c)) {
            return None;
        }
        let (_, frame) = self.cursors[slot].held.pop_front()?;
        self.held -= 1;
        Some(frame)
    }
}

/// Owns a connection's consumer: reads, filters, merges and sends until the stream ends.
struct Pump {
    consumer: StreamConsumer,
    merge: Merge,
    user_id: String,
    sender: mpsc::Sender<SseEvent>,
    shutdown: CancellationToken,
}

impl std::fmt::Debug for Pump {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pump").field("merge", &self.merge).field("user_id", &self.user_id).finish_non_exhaustive()
    }
}

/// Why a stream ended (logged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    ClientGone,
    ClientTooSlow,
    Shutdown,
    Lifetime,
    KafkaError,
}

impl Pump {
    async fn run(mut self) {
        tracing::debug!("event stream opened");
        let end = self.pump().await;
        match end {
            End::ClientTooSlow => tracing::warn!("event stream closed: the client reads too slowly; it will resume"),
            End::KafkaError => tracing::warn!("event stream closed after a consumer error; the client will resume"),
            _ => tracing::debug!(reason = ?end, "event stream closed"),
        }
        // Closing a consumer blocks until librdkafka has stopped it.
        let consumer = self.consumer;
        let _ = tokio::task::spawn_blocking(move || drop(consumer)).await;
    }

    async fn pump(&mut self) -> End {
        let catch_up = tokio::time::sleep(CATCH_UP_LIMIT);
        let lifetime = tokio::time::sleep(MAX_LIFETIME);
        tokio::pin!(catch_up, lifetime);
        loop {
            while let Some(frame) = self.merge.pop_ready() {
                tokio::select! {
                    sent = self.sender.send_timeout(frame.to_sse(), SLOW_CLIENT_GRACE) => match sent {
                        Ok(()) => {}
                        Err(SendTimeoutError::Timeout(_)) => return End::ClientTooSlow,
                        Err(SendTimeoutError::Closed(_)) => return End::ClientGone,
                    },
                    () = self.shutdown.cancelled() => return End::Shutdown,
                }
            }
            let catching_up = !self.merge.caught_up();
            tokio::select! {
                () = self.shutdown.cancelled() => return End::Shutdown,
                () = self.sender.closed() => return End::ClientGone,
                () = &mut lifetime => return End::Lifetime,
                () = &mut catch_up, if catching_up => {
                    tracing::warn!(limit_s = CATCH_UP_LIMIT.as_secs(), "catch-up too slow; no longer ordering across partitions");
                    self.merge.finish_catch_up();
                }
                received = self.consumer.recv() => match received {
                    Ok(message) => {
                        let Some(slot) = self.merge.slot(message.topic(), message.partition()) else { continue };
                        let frame = caller_frame(message.payload(), &self.user_id);
                        self.merge.observe(slot, message.offset(), message.timestamp().to_millis(), frame);
                    }
                    Err(error) => {
                        tracing::warn!(error = %error, "event stream consumer error");
                        return End::KafkaError;
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use chrono::TimeZone as _;
    use serde_json::json;

    use super::*;

    fn frame(id: u128) -> Frame {
        Frame { id: Uuid::from_u128(id), event_type: "task.updated".into(), data: "{}".into() }
    }

    fn ids(merge: &mut Merge) -> Vec<u128> {
        std::iter::from_fn(|| merge.pop_ready()).map(|f| f.id.as_u128()).collect()
    }

    /// Two partitions, each to be caught up from offset 0 to `target`.
    fn catching_up(targets: [i64; 2], resume: Option<u128>) -> Merge {
        let cursors = targets
            .iter()
            .enumerate()
            .map(|(p, &target)| Cursor { next: 0, ..Cursor::new("t".into(), p as i32, target) })
            .collect();
        Merge::new(cursors, resume.map(Uuid::from_u128))
    }

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(LAST_EVENT_ID, HeaderValue::from_str(value).expect("header"));
        headers
    }

    fn event(userid: &str, event_type: &str) -> serde_json::Value {
        json!({
            "specversion": "1.0", "id": Uuid::now_v7(), "source": "/taskstream/task-api", "type": event_type,
            "subject": "s", "time": "2030-01-01T00:00:00Z", "datacontenttype": "application/json",
            "dataschema": format!("urn:taskstream:schema:{event_type}:v1"), "userid": userid, "sequence": 1,
            "data": {"anything": "at all"},
        })
    }

    #[test]
    fn live_events_pass_straight_through() {
        let mut merge = Merge::new(vec![Cursor::new("t".into(), 0, 5), Cursor::new("t".into(), 1, 9)], None);
        merge.observe(1, 9, Some(100), Some(frame(1)));
        assert_eq!(ids(&mut merge), [1]);
        merge.observe(0, 5, Some(50), Some(frame(2)));
        assert_eq!(ids(&mut merge), [2], "an older record of another partition is not held back");
    }

    #[test]
    fn catch_up_waits_for_a_lagging_partition_and_sends_in_timestamp_order() {
        let mut merge = catching_up([2, 2], None);
        merge.observe(0, 0, Some(100), Some(frame(10)));
        merge.observe(0, 1, Some(300), Some(frame(11)));
        assert_eq!(ids(&mut merge), Vec::<u128>::new(), "partition 1 may still hold older events");

        merge.observe(1, 0, Some(200), Some(frame(20)));
        assert_eq!(ids(&mut merge), [10, 20]);
        merge.observe(1, 1, Some(400), None);
        assert_eq!(ids(&mut merge), [11]);
    }

    #[test]
    fn resuming_skips_the_last_event_and_everything_before_it_in_its_partition() {
        let mut merge = catching_up([3, 1], Some(12));
        merge.observe(0, 0, Some(100), Some(frame(11)));
        merge.observe(1, 0, Some(150), Some(frame(20)));
        assert_eq!(ids(&mut merge), Vec::<u128>::new(), "partition 0 may still hold the last event");

        merge.observe(0, 1, Some(200), Some(frame(12)));
        merge.observe(0, 2, Some(300), Some(frame(13)));
        assert_eq!(ids(&mut merge), [20, 13], "11 and 12 were seen; 20 is another partition's");
    }

    #[test]
    fn a_last_event_that_is_never_found_only_adds_duplicates() {
        let mut merge = catching_up([1, 1], Some(99));
        merge.observe(0, 0, Some(100), Some(frame(10)));
        merge.observe(1, 0, Some(50), Some(frame(20)));
        assert_eq!(ids(&mut merge), [20, 10]);
    }

    #[test]
    fn too_many_held_events_are_sent_anyway_in_partition_order() {
        let mut merge = catching_up([10_000, 1], None);
        for offset in 0..=MAX_HELD as i64 {
            merge.observe(0, offset, Some(offset), Some(frame(offset as u128)));
        }
        assert_eq!(merge.pop_ready().map(|f| f.id.as_u128()), Some(0));
        assert_eq!(merge.pop_ready(), None, "back under the limit: waiting again");
    }

    #[test]
    fn finishing_the_catch_up_stops_waiting() {
        let mut merge = catching_up([5, 5], Some(99));
        merge.observe(0, 0, Some(100), Some(frame(10)));
        assert_eq!(merge.pop_ready(), None);
        merge.finish_catch_up();
        assert_eq!(ids(&mut merge), [10]);
    }

    #[test]
    fn last_event_id_must_be_a_recent_uuidv7() {
        let now = Utc::now();
        assert_eq!(last_event_id(&HeaderMap::new(), now).ok(), Some(None));
        assert_eq!(last_event_id(&headers(" "), now).ok(), Some(None));
        for bad in ["garbage", "4bf92f35-77b3-4da6-a3ce-929d0e0e4736"] {
            let error = last_event_id(&headers(bad), now).expect_err(bad);
            assert!(matches!(&error, ApiError::BadRequest(d) if d.contains("Last-Event-ID")), "{error}");
        }

        let id = Uuid::now_v7();
        let resume = last_event_id(&headers(&id.to_string()), now).expect("valid").expect("some");
        let (seconds, nanos) = id.get_timestamp().expect("v7").to_unix();
        assert_eq!(resume.id, id);
        assert_eq!(resume.since_ms, seconds as i64 * 1000 + i64::from(nanos / 1_000_000) - 5_000);

        let later = Utc.timestamp_millis_opt(now.timestamp_millis() + 25 * 3_600_000).single().expect("time");
        assert!(last_event_id(&headers(&id.to_string()), later).is_err(), "older than 24 hours");
    }

    #[test]
    fn a_last_event_id_from_the_future_is_refused_beyond_clock_skew() {
        let now = Utc::now();
        let ahead = |seconds: u64| {
            let at = uuid::Timestamp::from_unix(uuid::NoContext, now.timestamp() as u64 + seconds, 0);
            Uuid::new_v7(at).to_string()
        };

        assert!(last_event_id(&headers(&ahead(30)), now).is_ok(), "within the clock skew");
        let error = last_event_id(&headers(&ahead(3600 * 24 * 365)), now).expect_err("a year ahead");
        assert!(matches!(&error, ApiError::BadRequest(d) if d.contains("future")), "{error}");
    }

    #[test]
    fn only_the_callers_events_become_frames_unknown_types_included() {
        let mine = event("alice", "task.archived");
        let payload = mine.to_string();
        let frame = caller_frame(Some(payload.as_bytes()), "alice").expect("alice's");
        assert_eq!((frame.event_type.as_str(), frame.data.as_str()), ("task.archived", payload.as_str()));
        assert_eq!(frame.id.to_string(), mine["id"].as_str().expect("id"));

        assert_eq!(caller_frame(Some(payload.as_bytes()), "bob"), None);
        assert_eq!(caller_frame(Some(b"{not json"), "alice"), None);
        assert_eq!(caller_frame(None, "alice"), None);
    }

    #[test]
    fn pretty_printed_events_are_sent_on_one_line() {
        let pretty = serde_json::to_string_pretty(&event("alice", "task.archived")).expect("json");
        let frame = caller_frame(Some(pretty.as_bytes()), "alice").expect("alice's");
        assert!(!frame.data.contains('\n'));
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&frame.data).ok(),
            serde_json::from_str::<serde_json::Value>(&pretty).ok()
        );
    }
}
