//! Rules that differ only in their literal prefix share one pattern of the
//! DFA (`phx_`, `phs_`, ... and their one body); which rule a token is,
//! is read from its first bytes. Merging must never change what matches
//! nor which rule wins, whatever the rules between the merged ones.

use std::sync::Arc;

use phx_redact::{Redactor, Rule, RuleSet};
use proptest::prelude::*;
use regex::bytes::Regex;

use crate::common::redact_with;

/// `ab_` and `ad_` may share a pattern; `ac_` may not join them, since the
/// rule between them (`a[a-c]_`) can match where it does and must win.
/// Each rule marks with its own name.
const RULES: [(&str, &str); 5] = [
    ("ab", "ab_[0-9]{3}[a-z]*"),
    ("middle", "a[a-c]_[0-9]{3}[a-z]*"),
    ("ac", "ac_[0-9]{3}[a-z]*"),
    ("ad", "ad_[0-9]{3}[a-z]*"),
    ("ae", "ae_[0-9]{3}[a-z]*"),
];

fn rules() -> Arc<RuleSet> {
    let rules = RULES
        .iter()
        .map(|(name, pattern)| Rule {
            marker: Some("<{rule}>".into()),
            ..Rule::custom(*name, *pattern)
        })
        .collect();
    Arc::new(RuleSet::new(rules).unwrap())
}

/// One leftmost-first alternation of the rules, each token replaced by its
/// rule's name.
fn oracle(input: &[u8]) -> Vec<u8> {
    let alternation: Vec<String> = RULES.iter().map(|(_, p)| format!("({p})")).collect();
    let re = Regex::new(&format!("(?-u){}", alternation.join("|"))).unwrap();
    re.replace_all(input, |c: &regex::bytes::Captures| {
        let i = (1..=RULES.len()).find(|&i| c.get(i).is_some()).unwrap();
        format!("<{}>", RULES[i - 1].0).into_bytes()
    })
    .into_owned()
}

fn fragment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => prop::sample::select(vec!["ab_", "ac_", "ad_", "ae_", "aa_", "a", "_", "b", "c"])
            .prop_map(|s| s.as_bytes().to_vec()),
        2 => "[0-9]{0,4}".prop_map(String::into_bytes),
        1 => "[a-z]{0,5}".prop_map(String::into_bytes),
        1 => prop::sample::select(vec![" ", "\n", "-"]).prop_map(|s| s.as_bytes().to_vec()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn merged_rules_keep_each_tokens_own_rule_for_any_chunking(
        parts in prop::collection::vec(fragment(), 0..30),
        sizes in prop_oneof![Just(vec![1]), Just(vec![usize::MAX]), prop::collection::vec(1usize..12, 1..6)],
    ) {
        let input = parts.concat();
        let (out, _) = redact_with(&rules(), &input, &sizes);
        let expected = oracle(&input);
        prop_assert_eq!(String::from_utf8_lossy(&out), String::from_utf8_lossy(&expected));
    }
}

#[test]
fn a_token_of_each_merged_rule_across_two_feeds_is_reported_under_its_own_name() {
    // The default rules: `phx_`, `phs_`, `pha_` and `phr_` share a pattern.
    let rules = Arc::new(RuleSet::default_rules(false));
    for kind in ["phx", "phs", "pha", "phr"] {
        let key = format!("{kind}_{}", "a1B2c3D4e5".repeat(5));
        let line = format!("key {key} end\n");
        for split in 5..line.len() - 4 {
            let mut redactor = Redactor::new(Arc::clone(&rules)).record_findings();
            let mut out = Vec::new();
            redactor.feed(&line.as_bytes()[..split], &mut out).unwrap();
            redactor.feed(&line.as_bytes()[split..], &mut out).unwrap();
            redactor.finish(&mut out).unwrap();
            assert_eq!(out, format!("key {kind}_[REDACTED] end\n").as_bytes(), "split {split}");
            let findings = redactor.take_findings();
            let names: Vec<&str> =
                findings.iter().map(|f| rules.rules()[f.rule.unwrap()].name.as_str()).collect();
            assert_eq!(names, [kind], "split {split}");
        }
    }
}
