//! A Rust service that redacts its own logs before they reach stderr.
//!
//! `cargo run --example tracing --features tracing`

use std::sync::Arc;

use phx_redact::{RedactMakeWriter, RuleSet};

fn main() {
    let rules = Arc::new(RuleSet::default_rules(false));
    tracing_subscriber::fmt().with_writer(RedactMakeWriter::new(std::io::stderr, rules)).init();

    // A key that a careless debug line would otherwise leak (a fake one,
    // made at run time).
    let key = phx_redact::testing::sample::KeyGen::new(1)
        .key("phx", phx_redact::testing::sample::Era::Current);
    tracing::info!(authorization = %format!("Bearer {key}"), "calling the PostHog API");
}
