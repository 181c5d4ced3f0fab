//! Compiling rules into one DFA, within limits.

use regex_automata::{
    MatchKind,
    dfa::{Automaton, StartKind, dense},
    nfa::thompson,
    util::syntax,
};
use regex_syntax::hir::{
    Hir,
    literal::{ExtractKind, Extractor},
};

use super::{
    analysis::{distinct_starts, hold_bound, start_states},
    family::{self, Patterns},
    lines::LineNames,
    rule::{CAPPED, MIN_HOLD_CAP, Options, Rule},
    set::{Bounded, Compiled, RuleSet},
    span::{SPAN_MAX_LEN, Span},
};
use crate::{
    engine::{marker::Marker, prefilter::Prefilter},
    error::Error,
};

/// Parses `pattern` as the DFA will.
pub(super) fn parse(pattern: &str) -> Result<regex_syntax::hir::Hir, Box<regex_syntax::Error>> {
    regex_syntax::ParserBuilder::new()
        .utf8(false)
        .unicode(false)
        .nest_limit(NEST_LIMIT)
        .build()
        .parse(pattern)
        .map_err(Box::new)
}

/// What is wrong with a regex, and where, without the regex itself: a
/// custom rule's text can be the very secret it is there to hide, and the
/// parser's own message quotes it whole.
fn parse_error(error: &regex_syntax::Error) -> String {
    let (kind, at) = match error {
        regex_syntax::Error::Parse(e) => (e.kind().to_string(), e.span().start.offset),
        regex_syntax::Error::Translate(e) => (e.kind().to_string(), e.span().start.offset),
        _ => return "not a regex this engine supports".into(),
    };
    format!("{kind} (at byte {at} of the regex)")
}

/// The literals every match of `pattern` starts with, if there are a few,
/// and its prefix for `{prefix}`: what all those literals share (`phx_`; nothing for `[0-9]{6,}`, whose literals are `00`, `01`,
/// ...), or nothing when a literal is a whole match (`password=hunter2` has
/// no prefix to keep apart from its secret).
pub(super) fn literal_prefixes(pattern: &str) -> (Option<Vec<Vec<u8>>>, Vec<u8>) {
    let Ok(hir) = parse(pattern) else { return (None, Vec::new()) };
    let mut seq = Extractor::new().kind(ExtractKind::Prefix).extract(&hir);
    // A name followed by a choice of separators (`personal_api_key=`,
    // `personal_api_key:`, ...) makes many literals that share a long start:
    // keep their first bytes, a few literals the prefilter can look for.
    if seq.len().is_some_and(|n| n > 64) {
        seq.keep_first_bytes(16);
        seq.dedup();
    }
    let Some(literals) = seq.literals() else { return (None, Vec::new()) };
    let prefix_len = match literals.split_first() {
        Some((first, rest)) if !literals.iter().any(|l| l.is_exact()) => {
            rest.iter().fold(first.len(), |n, l| {
                first.as_bytes()[..n].iter().zip(l.as_bytes()).take_while(|(a, b)| a == b).count()
            })
        }
        _ => 0,
    };
    let prefixes: Vec<Vec<u8>> = literals.iter().map(|l| l.as_bytes().to_vec()).collect();
    let usable =
        !prefixes.is_empty() && prefixes.len() <= 64 && prefixes.iter().all(|p| !p.is_empty());
    let prefix = prefixes.first().map_or(Vec::new(), |p| p[..prefix_len].to_vec());
    (usable.then_some(prefixes), prefix)
}

/// The literals that every match of some rule of `rules` starts with, if
/// each rule has a few (see [`literal_prefixes`]); `None` otherwise.
#[cfg(feature = "cli")]
pub(crate) fn literal_starts(rules: &[Rule]) -> Option<Vec<Vec<u8>>> {
    let mut all = Vec::new();
    for rule in rules {
        all.extend(literal_prefixes(&rule.pattern).0?);
    }
    Some(all)
}

/// How deeply a rule's regex may nest groups and repetitions.
pub const NEST_LIMIT: u32 = 64;

/// The most memory the rules' NFA may take: about 10,000 literal bytes of
/// regex (a 300-word alternation takes a twentieth of it), while `x{20000}`
/// is refused at once rather than compiled into a DFA of 20,000 states.
pub const NFA_SIZE_LIMIT: usize = 256 * 1024;

/// The most memory determinization and the DFA itself may take. The
/// built-in rules take a few KiB and a 300-word alternation about 300 KiB;
/// a regex such as `(a|b)*a(a|b){25}`, whose DFA has 2^26 states, is
/// refused after building 8 MiB of it, in a fraction of a second, instead
/// of running for minutes and gigabytes.
pub const DFA_SIZE_LIMIT: usize = 8 * 1024 * 1024;

/// Compiles `patterns` into one anchored, leftmost-first DFA, within the
/// limits above. It is not minimized: minimizing took two thirds of a
/// run's start-up (50 million instructions of 75 for the built-in rules,
/// measured with callgrind, about 10 ms) to save a few KiB of table, and
/// the scan is as fast over the larger table. An error says what failed
/// and why, without the regex.
fn compile(patterns: &[Hir]) -> Result<dense::DFA<Vec<u32>>, String> {
    // The causes chained: the builder's message says which stage failed,
    // its source why.
    fn text(e: &dyn std::error::Error) -> String {
        match e.source() {
            Some(source) => format!("{e}: {source}"),
            None => e.to_string(),
        }
    }
    // DFAs have no groups: the NFA is built without them, as
    // `dense::Builder::build_many` does.
    let nfa = thompson::Compiler::new()
        .configure(thompson().which_captures(thompson::WhichCaptures::None))
        .build_many_from_hir(patterns)
        .map_err(|e| text(&e))?;
    build(&nfa).map_err(|e| text(&*e))
}

/// How a rule's regex is read, by the DFA and by a rule's `secret` group.
fn syntax() -> syntax::Config {
    syntax::Config::new().utf8(false).unicode(false).nest_limit(NEST_LIMIT)
}

/// The NFA a rule's regex is compiled to, within [`NFA_SIZE_LIMIT`].
fn thompson() -> thompson::Config {
    thompson::Config::new().utf8(false).nfa_size_limit(Some(NFA_SIZE_LIMIT))
}

/// Builds the DFA of `nfa`, up to [`DFA_SIZE_LIMIT`].
fn build(nfa: &thompson::NFA) -> Result<dense::DFA<Vec<u32>>, Box<dense::BuildError>> {
    let limit = DFA_SIZE_LIMIT;
    dense::Builder::new()
        .configure(
            dense::Config::new()
                .match_kind(MatchKind::LeftmostFirst)
                .start_kind(StartKind::Anchored)
                .determinize_size_limit(Some(limit))
                .dfa_size_limit(Some(limit))
                .minimize(false),
        )
        .build_from_nfa(nfa)
        .map_err(Box::new)
}

/// Compiles `rules` into one DFA, rules that differ only in their literal
/// prefix as one pattern where `merge` (see `family.rs`); an error names
/// the rule at fault when one alone is.
pub(super) fn compile_rules(
    rules: &[&Rule],
    merge: bool,
) -> Result<(dense::DFA<Vec<u32>>, Patterns), Error> {
    // The syntax of `regex::bytes::Regex` with Unicode off (the oracle adds
    // `(?-u)`): logs are bytes, `\b` `\w` `\d` are ASCII (a DFA cannot do
    // Unicode word boundaries), and a literal such as `é` still matches its
    // UTF-8 bytes. `check_rules` has parsed each one already.
    let hirs = rules
        .iter()
        .map(|r| parse(&r.pattern))
        .collect::<Result<Vec<Hir>, _>>()
        .map_err(|_| Error::Rule("a rule's regex does not parse".into()))?;
    let (patterns, mapping) = if merge {
        let starts: Vec<_> = rules.iter().map(|r| literal_prefixes(&r.pattern).0).collect();
        family::group(hirs.clone(), &starts)
    } else {
        (hirs.clone(), Patterns::one_each(rules.len()))
    };
    compile(&patterns).map(|dfa| (dfa, mapping)).map_err(|e| {
        let culprit = (rules.len() > 1)
            .then(|| {
                rules.iter().zip(&hirs).find(|(_, h)| compile(std::slice::from_ref(h)).is_err())
            })
            .flatten()
            .map(|(r, _)| r)
            .or(rules.first().filter(|_| rules.len() == 1));
        match culprit {
            Some(rule) => Error::Rule(format!(
                "rule {}: cannot compile it into a DFA: {e} (limits: {} KiB of NFA, {} MiB \
                 of DFA); simplify the regex: fewer or smaller repetitions, a shorter \
                 alternation",
                rule.name,
                NFA_SIZE_LIMIT / 1024,
                DFA_SIZE_LIMIT >> 20
            )),
            None => Error::Rule(format!(
                "cannot compile the rules together into a DFA: {e}; use fewer or simpler rules"
            )),
        }
    })
}

/// The checks on the rules that need no compiling: there are some, their
/// names are distinct and not reserved, each regex parses and none can
/// match the empty string, and the hold cap is not too small.
fn check_rules(rules: &[Rule], options: &Options) -> Result<(), Error> {
    if rules.is_empty() {
        return Err(Error::Rule("no rules to apply".into()));
    }
    if options.hold_cap < MIN_HOLD_CAP {
        return Err(Error::Rule(format!("the hold cap must be at least {MIN_HOLD_CAP}")));
    }
    for (i, rule) in rules.iter().enumerate() {
        if rule.name.is_empty() || rule.name == CAPPED {
            return Err(Error::Rule(format!("rule {}: reserved or empty name", i + 1)));
        }
        // Names are printed in findings and `--list-rules`: a newline or an
        // escape sequence there would forge lines or drive a terminal.
        if rule.name.chars().any(char::is_control) {
            return Err(Error::Rule(format!("rule {}: its name holds a control character", i + 1)));
        }
        if rules[..i].iter().any(|r| r.name == rule.name) {
            return Err(Error::Rule(format!("two rules are named {}", rule.name)));
        }
        let hir = parse(&rule.pattern).map_err(|e| {
            Error::Rule(format!("rule {}: cannot parse the regex: {}", rule.name, parse_error(&e)))
        })?;
        if hir.properties().minimum_len() == Some(0) {
            return Err(Error::Rule(format!("rule {}: can match the empty string", rule.name)));
        }
    }
    Ok(())
}

/// `rules` with the one that counts only on some lines (see `lines.rs`)
/// moved last, so that it is tried after every other, and what its lines
/// must name.
///
/// # Errors
///
/// [`Error::Rule`] when more than one rule counts only on some lines, or
/// such a rule's matches can be longer than [`SPAN_MAX_LEN`] (its match is
/// held back whole with the bytes after it), or a name is refused.
fn lines_last(rules: Vec<Rule>, cap: usize) -> Result<(Vec<Rule>, Option<LineNames>), Error> {
    let (mut rules, last): (Vec<Rule>, Vec<Rule>) =
        rules.into_iter().partition(|r| r.on_lines_naming.is_empty());
    if last.len() > 1 {
        return Err(Error::Rule(format!(
            "rules {} and {}: only one rule may count only on lines naming a host",
            last[0].name, last[1].name
        )));
    }
    let Some(rule) = last.into_iter().next() else { return Ok((rules, None)) };
    let max_len = parse(&rule.pattern).ok().and_then(|hir| hir.properties().maximum_len());
    let Some(max_len) = max_len.filter(|&n| n <= SPAN_MAX_LEN) else {
        return Err(Error::Rule(format!(
            "rule {}: a rule that counts only on some lines must match at most {SPAN_MAX_LEN} \
             bytes",
            rule.name
        )));
    };
    let lines = LineNames::of((rules.len(), &rule), max_len, cap)?;
    rules.push(rule);
    Ok((rules, lines))
}

/// The literal prefixes of all the rules, for the prefilter; `None` when
/// some rule has none.
type Prefixes = Option<Vec<Vec<u8>>>;

/// Each rule as the engine uses it (its marker, `default` where it names
/// none), and the literal prefixes of all the rules.
fn compile_markers(rules: &[Rule], default: &Marker) -> Result<(Vec<Compiled>, Prefixes), Error> {
    let mut compiled = Vec::with_capacity(rules.len());
    let mut prefixes: Prefixes = Some(Vec::new());
    for rule in rules {
        let span = match parse(&rule.pattern) {
            Ok(hir) => Span::of((&rule.name, &rule.pattern, &hir), syntax(), thompson())?,
            Err(_) => None,
        };
        let marker = match &rule.marker {
            Some(spec) => Marker::parse(spec)?,
            None => default.clone(),
        };
        let (literals, prefix) = literal_prefixes(&rule.pattern);
        match (&mut prefixes, literals) {
            (Some(all), Some(literals)) => all.extend(literals),
            _ => prefixes = None,
        }
        // Only the secret is replaced: there is no prefix to keep in the
        // marker, which says instead which rule found it.
        let (marker, prefix) =
            if span.is_some() { (marker.without_prefix()?, Vec::new()) } else { (marker, prefix) };
        let fixed = marker.fixed(&rule.name, &prefix);
        compiled.push(Compiled { marker, prefix, fixed, span });
    }
    Ok((compiled, prefixes))
}

impl RuleSet {
    /// Compiles `rules` with the default [`Options`].
    ///
    /// # Errors
    ///
    /// As [`RuleSet::with_options`].
    pub fn new(rules: Vec<Rule>) -> Result<RuleSet, Error> {
        RuleSet::with_options(rules, Options::default())
    }

    /// Compiles `rules` and checks them before any input is read.
    ///
    /// # Errors
    ///
    /// [`Error::Rule`] when there are no rules, two rules share a name, a
    /// pattern does not compile or compiles past [`NFA_SIZE_LIMIT`] or
    /// [`DFA_SIZE_LIMIT`] or nests deeper than [`NEST_LIMIT`] (the error
    /// names the rule), a rule can match the empty string, a marker
    /// does not parse or, where markers are written
    /// ([`Options::markers_written`]), could itself be matched by a rule (so
    /// that a second run would change the output), or the hold cap is below
    /// [`MIN_HOLD_CAP`].
    pub fn with_options(rules: Vec<Rule>, options: Options) -> Result<RuleSet, Error> {
        check_rules(&rules, &options)?;
        let (rules, lines) = lines_last(rules, options.hold_cap)?;
        let (dfa, patterns) = compile_rules(&rules.iter().collect::<Vec<_>>(), true)?;
        let (start_first, start_after) = start_states(&dfa)?;
        let default_marker = Marker::parse(&options.marker)?;
        let (compiled, prefixes) = compile_markers(&rules, &default_marker)?;
        let mut set = RuleSet {
            max_prefix_len: 1,
            literal_prefilter: false,
            newline_in_prefix: false,
            escaped_prefilter: None,
            prefilter: Prefilter::first_bytes(&[false; 256]),
            needs_hash: compiled.iter().any(|c| c.marker.needs_hash())
                || default_marker.needs_hash(),
            needs_ends: compiled.iter().any(|c| c.marker.needs_ends())
                || default_marker.needs_ends(),
            capped_marker: default_marker,
            fingerprints: options.fingerprints,
            compiled,
            rules,
            dfa,
            patterns,
            start_after,
            start_first,
            max_held: 0,
            hold_cap: options.hold_cap,
            self_loops: Vec::new(),
            chain_of: Vec::new(),
            chains: Vec::new(),
            bounded: None,
            capture: Vec::new(),
            lines,
        };
        set.check_no_empty_match()?;
        set.choose_prefilter(prefixes);
        let bound = hold_bound(&set.dfa, &set.starts());
        if options.markers_written {
            set.check_markers(bound.is_none_or(|bound| bound >= set.hold_cap))?;
        }
        set.self_loops = set.find_self_loops();
        (set.chain_of, set.chains) = set.find_chains();
        // A match with a group `secret` is held back whole until decided.
        let spans = set.compiled.iter().filter_map(|c| c.span.as_ref()).map(|s| s.max_len + 1);
        // And a match of a rule that counts only on some lines, with the
        // bytes after it up to where its line is known to name a host.
        let lines = set.lines.as_ref().map(|l| l.max_len + 1 + l.lookahead);
        let held = bound.map(|bound| spans.chain(lines).fold(bound, usize::max));
        set.max_held = held.map_or(set.hold_cap, |held| held.min(set.hold_cap));
        if bound.is_none_or(|bound| bound >= set.hold_cap) {
            set.bounded = Bounded::new(&set.rules, set.hold_cap)?;
        }
        Ok(set)
    }

    /// Refuses rules that together match the empty string from some start
    /// (each alone was checked before compiling).
    fn check_no_empty_match(&self) -> Result<(), Error> {
        for start in self.starts() {
            let empty = self.dfa.is_match_state(self.dfa.next_eoi_state(start))
                || (0..=255u8).any(|b| self.dfa.is_match_state(self.dfa.next_state(start, b)));
            if empty {
                return Err(Error::Rule("a rule can match the empty string".into()));
            }
        }
        Ok(())
    }

    /// The prefilter: the rules' literal prefixes if every match begins
    /// with one of them (`prefixes`, when each rule has some), else every
    /// byte on which the DFA leaves a start state.
    fn choose_prefilter(&mut self, prefixes: Option<Vec<Vec<u8>>>) {
        match prefixes {
            // The prefilter looks for the literal prefixes; check that no
            // match can begin any other way.
            Some(prefixes) if self.matches_start_with(&prefixes) => {
                let refs: Vec<&[u8]> = prefixes.iter().map(Vec::as_slice).collect();
                self.prefilter = Prefilter::new(&refs);
                self.max_prefix_len = prefixes.iter().map(Vec::len).max().unwrap_or(1);
                self.literal_prefilter = true;
                self.newline_in_prefix = prefixes.iter().any(|p| p.contains(&b'\n'));
                self.escaped_prefilter = escaped_prefilter(&refs);
            }
            // A rule without a literal prefix: every byte on which the DFA
            // leaves its start may begin a token.
            _ => {
                let mut table = [false; 256];
                for start in self.starts() {
                    for byte in 0..=255u8 {
                        if !self.dfa.is_dead_state(self.dfa.next_state(start, byte)) {
                            table[usize::from(byte)] = true;
                        }
                    }
                }
                self.prefilter = Prefilter::first_bytes(&table);
                self.escaped_prefilter = Some(Prefilter::first_bytes(&table));
            }
        }
    }
}

/// See `RuleSet::escaped_prefilter`: `prefixes` cut before their first
/// `"`, `\` or `/`.
fn escaped_prefilter(prefixes: &[&[u8]]) -> Option<Prefilter> {
    let special = |b: &u8| matches!(b, b'"' | b'\\' | b'/');
    let mut cut: Vec<&[u8]> =
        prefixes.iter().map(|p| &p[..p.iter().position(special).unwrap_or(p.len())]).collect();
    cut.sort_unstable();
    cut.dedup();
    cut.iter().all(|p| !p.is_empty()).then(|| Prefilter::new(&cut))
}

impl Bounded {
    /// The rules of `rules` whose own hold bound is below `cap`, if some
    /// are, and if together they stay below it.
    pub(super) fn new(rules: &[Rule], cap: usize) -> Result<Option<Bounded>, Error> {
        let mut rule_of = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            let (dfa, _) = compile_rules(&[rule], false)?;
            let (first, after) = start_states(&dfa)?;
            if hold_bound(&dfa, &distinct_starts(first, &after)).is_some_and(|b| b < cap) {
                rule_of.push(i);
            }
        }
        if rule_of.is_empty() {
            return Ok(None);
        }
        let subset: Vec<&Rule> = rule_of.iter().map(|&i| &rules[i]).collect();
        let (dfa, _) = compile_rules(&subset, false)?;
        let (start_first, start_after) = start_states(&dfa)?;
        let starts = distinct_starts(start_first, &start_after);
        if hold_bound(&dfa, &starts).is_none_or(|b| b >= cap) {
            return Ok(None);
        }
        let mut first = Box::new([false; 256]);
        for &start in &starts {
            for byte in 0..=255u8 {
                if !dfa.is_dead_state(dfa.next_state(start, byte)) {
                    first[usize::from(byte)] = true;
                }
            }
        }
        Ok(Some(Bounded { dfa, start_first, start_after, first, rule_of }))
    }
}
