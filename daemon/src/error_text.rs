//! One way to turn an error and its causes into a line for the operator.
//!
//! Our error types put their cause in their message ("cannot listen on X: address in use")
//! so a plain `to_string()` is complete, and they also expose it as `source()` so callers can
//! inspect it. Printing the chain naively would then say every cause twice; [`chain`] adds a
//! cause only when the text so far does not already contain it.

/// `error: cause: cause`, each cause once.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot listen on 127.0.0.1:1: {source}")]
    struct Outer {
        source: std::io::Error,
    }

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let e = Outer {
            source: std::io::Error::new(std::io::ErrorKind::AddrInUse, "address in use"),
        };
        assert_eq!(chain(&e), "cannot listen on 127.0.0.1:1: address in use");
        let wrapped = anyhow::Error::new(e).context("web");
        assert_eq!(
            chain(wrapped.as_ref()),
            "web: cannot listen on 127.0.0.1:1: address in use"
        );
    }
}
