//! The verification through the library, as the Python module and the
//! Spark job will call it: findings carry their key only when the rules
//! are told to, and a [`Cache`] asks about each key once per host for as
//! long as it lives, however many findings and calls name the key.

use std::sync::Arc;

use phx_redact::{
    Redactor, RuleSet,
    app::verify::{Cache, Host, Status, Target, VERIFIABLE, VerifyOptions},
    testing::sample::{Era, KeyGen},
};

use crate::verify_server::{Reply, Request, Server};

#[test]
fn findings_carry_no_key_unless_told_and_the_cache_asks_once() {
    let mut keygen = KeyGen::new(51);
    let (live, public) = (keygen.key("phx", Era::Current), keygen.key("phc", Era::Current));
    let text = format!("a={live}\nb={live}\nc={public}\n");
    let findings = |rules: RuleSet| {
        let mut redactor = Redactor::new(Arc::new(rules)).record_findings();
        redactor.feed(text.as_bytes(), &mut Vec::new()).unwrap();
        redactor.finish(&mut Vec::new()).unwrap();
        redactor.take_findings()
    };
    let plain = findings(RuleSet::default_rules(true));
    assert_eq!(plain.len(), 3);
    assert!(plain.iter().all(|f| f.secret.is_none()), "a key carried untold");
    let rules = RuleSet::default_rules(true).capture_tokens(VERIFIABLE);
    let told = findings(RuleSet::default_rules(true).capture_tokens(VERIFIABLE));
    assert_eq!(told[0].secret.as_ref().unwrap().expose(), live.as_bytes());
    assert!(told[2].secret.is_none(), "a public key is not carried");
    assert!(!format!("{told:?}").contains(&live), "Debug shows the key");
    let targets: Vec<Target> =
        told.iter().filter_map(|f| Target::from_finding(f, &rules)).collect();
    assert_eq!(targets.len(), 2);

    let us = Server::start(|_: &Request, _: &[Request]| Reply::status(200));
    let eu = Server::start(|_: &Request, _: &[Request]| Reply::status(401));
    let hosts = vec![Host::parse(&us.url()).unwrap(), Host::parse(&eu.url()).unwrap()];
    let options = VerifyOptions { hosts, ..VerifyOptions::default() };
    let mut cache = Cache::default();
    let statuses = cache.verify(&targets, &options).clone();
    assert_eq!(statuses.get(&targets[0].fingerprint), Some(&Status::Live));
    cache.verify(&targets, &options);
    assert_eq!((us.requests().len(), eu.requests().len()), (1, 1), "asked more than once");
}
