//! Bulk request bodies, each action encoded once: a byte-counting writer appends an action's
//! NDJSON lines to the open request and closes it before it grows past the byte limit. A
//! request keeps where each action's lines lie in its body, so a retry sends the same bytes
//! again (the whole body, or the slices of the items still to send) without encoding anything.

use std::ops::Range;

use bytes::Bytes;

use crate::transform::Action;

/// One bulk request against one index (`POST /<index>/_bulk`), encoded: its NDJSON body, the
/// actions it carries (to judge their items and dead-letter refused ones) and, per action, the
/// byte range of its lines in the body.
#[derive(Debug)]
pub(crate) struct Request {
    body: Bytes,
    spans: Vec<Range<usize>>,
    actions: Vec<Action>,
}

impl Request {
    pub fn actions(&self) -> &[Action] {
        &self.actions
    }

    #[cfg(test)]
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    pub fn into_body(self) -> Bytes {
        self.body
    }

    /// The body of a request sending again the actions at `positions` (ascending): a slice
    /// of the request's own bytes when they follow one another (all of them included), else
    /// their lines copied out of it in order. No item's body changes between attempts, so
    /// none is encoded again.
    pub fn body_of(&self, positions: &[usize]) -> Bytes {
        let (Some(first), Some(last)) = (positions.first(), positions.last()) else {
            return Bytes::new();
        };
        if last - first + 1 == positions.len() {
            return self
                .body
                .slice(self.spans[*first].start..self.spans[*last].end);
        }
        let size = positions.iter().map(|at| self.spans[*at].len()).sum();
        let mut bytes = Vec::with_capacity(size);
        for at in positions {
            bytes.extend_from_slice(&self.body[self.spans[*at].clone()]);
        }
        Bytes::from(bytes)
    }
}

/// What is still to be sent of a [`Request`]: the positions of its actions not yet settled,
/// and the body that carries exactly them.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub positions: Vec<usize>,
    pub body: Bytes,
}

impl Pending {
    /// All of `request`, its body as encoded.
    pub fn all(request: &Request) -> Self {
        Self {
            positions: (0..request.actions.len()).collect(),
            body: request.body.clone(),
        }
    }

    /// Only the actions at `positions` (a subset of those pending) are to be sent again: the
    /// body is cut down to their lines only when some were settled, else it stays the same.
    pub fn keep(&mut self, request: &Request, positions: Vec<usize>) {
        if positions.len() != self.positions.len() {
            self.body = request.body_of(&positions);
        }
        self.positions = positions;
    }
}

/// Appends actions to the open request's body, counting its bytes, and closes the request
/// before an action would take it past `max_bytes`; an action larger than that goes alone.
pub(crate) struct BodyWriter {
    max_bytes: u64,
    bytes: Vec<u8>,
    spans: Vec<Range<usize>>,
    actions: Vec<Action>,
}

impl BodyWriter {
    pub fn new(max_bytes: u64) -> Self {
        Self {
            max_bytes,
            bytes: Vec::new(),
            spans: Vec::new(),
            actions: Vec::new(),
        }
    }

    /// Writes `action` into the open request; returns the request it closed when it did not
    /// fit after the actions already there (it then opens the next one).
    pub fn push(&mut self, action: Action) -> Option<Request> {
        let mut start = self.bytes.len();
        encode(&action, &mut self.bytes);
        let mut closed = None;
        if !self.actions.is_empty() && self.bytes.len() as u64 > self.max_bytes {
            // The lines just written open the next request: moved there, not encoded again.
            let mut next = Vec::with_capacity(self.bytes.len());
            next.extend_from_slice(&self.bytes[start..]);
            self.bytes.truncate(start);
            closed = self.close();
            self.bytes = next;
            start = 0;
        }
        self.spans.push(start..self.bytes.len());
        self.actions.push(action);
        closed
    }

    /// The request still open, if it holds any action.
    pub fn finish(mut self) -> Option<Request> {
        self.close()
    }

    fn close(&mut self) -> Option<Request> {
        if self.actions.is_empty() {
            return None;
        }
        Some(Request {
            body: Bytes::from(std::mem::take(&mut self.bytes)),
            spans: std::mem::take(&mut self.spans),
            actions: std::mem::take(&mut self.actions),
        })
    }
}

/// `actions` as the bulk requests they are sent in, in order.
pub(crate) fn requests(actions: Vec<Action>, max_bytes: u64) -> Vec<Request> {
    let mut writer = BodyWriter::new(max_bytes);
    let mut requests: Vec<Request> = actions
        .into_iter()
        .filter_map(|action| writer.push(action))
        .collect();
    requests.extend(writer.finish());
    requests
}

/// Appends the NDJSON lines of `action`: its action line (with its version, which the index
/// refuses when it holds a higher one), and the source of a document.
fn encode(action: &Action, out: &mut Vec<u8>) {
    let (kind, id) = match action {
        Action::Index(doc) => ("index", &doc.id),
        Action::Delete(id, _) => ("delete", id),
    };
    out.extend_from_slice(br#"{""#);
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(br#"":{"_id":"#);
    // A key as a JSON string: text keys may hold quotes.
    serde_json::to_writer(&mut *out, id.as_str()).expect("a string is written to memory");
    if let Some(version) = action.version() {
        out.extend_from_slice(br#","version":"#);
        out.extend_from_slice(version.get().to_string().as_bytes());
        out.extend_from_slice(br#","version_type":"external_gte""#);
    }
    out.extend_from_slice(b"}}\n");
    if let Action::Index(doc) = action {
        out.extend_from_slice(&doc.body);
        out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::{Document, Key};

    fn key(n: u128) -> Key {
        Key::from(uuid::Uuid::from_u128(n).to_string())
    }

    fn sized(id: u128, bytes: usize) -> Action {
        Action::Index(Document {
            id: key(id),
            body: Bytes::from(vec![b' '; bytes]),
            version: None,
        })
    }

    /// An action's lines as they were formatted before the writer, a line at a time.
    fn lines_of(action: &Action) -> Vec<u8> {
        let id = serde_json::to_string(action.id().as_str()).unwrap();
        match action {
            Action::Index(doc) => {
                let mut text = format!("{{\"index\":{{\"_id\":{id}}}}}\n").into_bytes();
                text.extend_from_slice(&doc.body);
                text.push(b'\n');
                text
            }
            Action::Delete(..) => format!("{{\"delete\":{{\"_id\":{id}}}}}\n").into_bytes(),
        }
    }

    fn ids_in(body: &[u8]) -> Vec<String> {
        body.split(|byte| *byte == b'\n')
            .filter_map(|line| serde_json::from_slice::<serde_json::Value>(line).ok())
            .filter_map(|line| {
                let (_, meta) = line.as_object()?.iter().next()?;
                Some(meta["_id"].as_str()?.to_owned())
            })
            .collect()
    }

    #[test]
    fn requests_are_cut_at_the_limit_and_count_the_bytes_they_hold() {
        // {"index":{"_id":"<36 characters>"}} is 56 bytes; each line ends with a newline.
        let action_bytes = lines_of(&sized(0, 100)).len();
        assert_eq!(action_bytes, 56 + 1 + 100 + 1);
        let actions: Vec<Action> = (0..10).map(|id| sized(id, 100)).collect();
        for (limit, per_request) in [
            (action_bytes * 3, vec![3, 3, 3, 1]),
            (action_bytes * 3 - 1, vec![2, 2, 2, 2, 2]),
            (action_bytes * 3 + 1, vec![3, 3, 3, 1]),
        ] {
            let requests = requests(actions.clone(), limit as u64);
            let sizes: Vec<usize> = requests.iter().map(|r| r.actions().len()).collect();
            assert_eq!(sizes, per_request, "limit {limit}");
            let mut sent = Vec::new();
            for request in &requests {
                assert!(request.body().len() <= limit, "limit {limit}");
                let expected: Vec<u8> = request.actions().iter().flat_map(lines_of).collect();
                assert_eq!(request.body()[..], expected[..], "limit {limit}");
                let spans: usize = request.spans.iter().map(|span| span.len()).sum();
                assert_eq!(spans, request.body().len(), "limit {limit}");
                sent.extend(request.actions().iter().cloned());
            }
            assert_eq!(sent, actions, "every action once, in order");
        }
    }

    #[test]
    fn an_action_larger_than_the_limit_goes_alone() {
        let actions = vec![sized(1, 10), sized(2, 5000), sized(3, 10)];
        let requests = requests(actions.clone(), 1024);
        let sizes: Vec<usize> = requests.iter().map(|r| r.actions().len()).collect();
        assert_eq!(sizes, [1, 1, 1]);
        assert_eq!(requests[1].body()[..], lines_of(&actions[1])[..]);
        assert!(super::requests(Vec::new(), 1024).is_empty());
    }

    #[test]
    fn a_version_goes_in_the_action_line_for_the_index_to_compare() {
        let version = Some(crate::transform::Version::from_raw(262_144_262_141));
        let index = Action::Index(Document {
            version,
            ..match sized(1, 2) {
                Action::Index(document) => document,
                Action::Delete(..) => unreachable!(),
            }
        });
        let actions = vec![index, Action::Delete(key(2), version)];
        let request = requests(actions, 1024).remove(0);
        let expected = format!(
            "{{\"index\":{{\"_id\":\"{}\",\"version\":262144262141,\"version_type\":\"external_gte\"}}}}\n  \n\
             {{\"delete\":{{\"_id\":\"{}\",\"version\":262144262141,\"version_type\":\"external_gte\"}}}}\n",
            key(1),
            key(2)
        );
        assert_eq!(String::from_utf8_lossy(request.body()), expected);
    }

    #[test]
    fn body_has_an_action_line_per_action_and_a_source_per_index() {
        let quoted = Key::from(r#"a "quoted" key"#);
        let actions = vec![
            sized(1, 2),
            Action::Delete(key(2), None),
            Action::Delete(quoted.clone(), None),
        ];
        let request = requests(actions, 1024).remove(0);
        let lines: Vec<&[u8]> = request.body().split(|b| *b == b'\n').collect();
        assert_eq!(lines.len(), 5, "four lines, each ending with a newline");
        assert_eq!(lines[1], b"  ");
        assert_eq!(
            ids_in(request.body()),
            [key(1).as_str(), key(2).as_str(), quoted.as_str()]
        );
    }

    #[test]
    fn a_retry_of_every_item_sends_the_same_bytes() {
        let request = requests((0..4).map(|id| sized(id, 10)).collect(), 1024).remove(0);
        let mut pending = Pending::all(&request);
        assert_eq!(pending.body.as_ptr(), request.body().as_ptr());
        pending.keep(&request, vec![0, 1, 2, 3]);
        assert_eq!(pending.body.as_ptr(), request.body().as_ptr(), "not copied");
        assert_eq!(pending.body, request.body());
    }

    #[test]
    fn a_partial_retry_sends_exactly_the_retried_items_bytes_in_order() {
        let actions: Vec<Action> = (0..5).map(|id| sized(id, 10 + id as usize)).collect();
        let request = requests(actions.clone(), 4096).remove(0);
        let mut pending = Pending::all(&request);
        pending.keep(&request, vec![1, 3, 4]);
        let expected: Vec<u8> = [1, 3, 4]
            .iter()
            .flat_map(|at| lines_of(&actions[*at]))
            .collect();
        assert_eq!(pending.body[..], expected[..]);
        let again = pending.body.clone();
        pending.keep(&request, vec![1, 3, 4]);
        assert_eq!(
            pending.body.as_ptr(),
            again.as_ptr(),
            "the same items: the same bytes"
        );
        pending.keep(&request, vec![3, 4]);
        assert_eq!(
            pending.body[..],
            [lines_of(&actions[3]), lines_of(&actions[4])].concat()[..]
        );
        assert_eq!(pending.positions, [3, 4]);
        let whole = request.body().as_ptr_range();
        assert!(
            whole.contains(&pending.body.as_ptr()),
            "neighbours: a slice, not a copy"
        );
    }
}
