//! An error as the log and the command line write it: its message and those of its sources.

/// The messages of an error and its sources, leaving out a cause its parent already quoted.
pub(crate) fn causes(err: &dyn std::error::Error) -> Vec<String> {
    let mut messages = vec![err.to_string()];
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !messages.last().is_some_and(|parent| parent.contains(&text)) {
            messages.push(text);
        }
        source = cause.source();
    }
    messages
}
