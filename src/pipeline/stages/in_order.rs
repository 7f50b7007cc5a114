//! Work finished in any order, handed on in the order it was started: bulk requests complete
//! out of order, but the position saved must only move over a run of acknowledged batches.

use std::collections::BTreeMap;

use futures_util::{stream, Stream, StreamExt};

/// Takes `(sequence number, item)` as they complete, numbers from 0 without gaps, and yields
/// the items in sequence order; an error is passed on at once.
pub(in crate::pipeline) fn in_order<T, E>(
    completed: impl Stream<Item = Result<(u64, T), E>>,
) -> impl Stream<Item = Result<T, E>> {
    let start = (BTreeMap::new(), 0u64, Box::pin(completed));
    stream::unfold(start, |(mut waiting, next, mut completed)| async move {
        loop {
            if let Some(item) = waiting.remove(&next) {
                return Some((Ok(item), (waiting, next + 1, completed)));
            }
            match completed.next().await? {
                Ok((seq, item)) => {
                    waiting.insert(seq, item);
                }
                Err(err) => return Some((Err(err), (waiting, next, completed))),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn out_of_order_completions_come_out_in_order() {
        let completed = stream::iter([2u64, 0, 3, 1, 4].map(|seq| Ok::<_, ()>((seq, seq * 10))));
        let items: Vec<u64> = in_order(completed).map(Result::unwrap).collect().await;
        assert_eq!(items, [0, 10, 20, 30, 40]);
    }

    #[tokio::test]
    async fn nothing_passes_a_gap_and_errors_come_through() {
        let completed = stream::iter([Ok((1u64, "b")), Ok((2, "c")), Err("lost"), Ok((0, "a"))]);
        let items: Vec<Result<&str, &str>> = in_order(completed).collect().await;
        assert_eq!(items, [Err("lost"), Ok("a"), Ok("b"), Ok("c")]);
    }
}
