//! `db-parser()`: classifying messages with a patterndb XML file, as syslog-ng 3.38 does
//! (`modules/dbparser`).
//!
//! | Concern | Module |
//! |---|---|
//! | the XML file | [`load`] |
//! | the radix tree patterns are looked up in | [`radix`] |
//! | the `@PARSER@`s | [`parsers`] |
//! | rules, actions and correlation contexts | here |
//!
//! A message is looked up by `$PROGRAM` (or `program-template()`) among the rulesets' program
//! patterns, then by `$MSG` among that program's rule patterns. A match sets
//! `.classifier.class`, `.classifier.rule_id`, what the parsers took, the rule's tags and
//! values; no match sets `.classifier.class` to `unknown` and the tag `.classifier.unknown`.

pub mod load;
pub mod merge;
pub mod parsers;
pub mod radix;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::filter::{Filter, FilterScratch};
use crate::message::{LogMessage, ReceiveInfo, TagId, UnixTime, ValueName};
use crate::template::{FormatOptions, Template};
use radix::Node;

/// Which messages share a correlation context (`context-scope()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    Global,
    Host,
    Program,
    #[default]
    Process,
}

impl Scope {
    pub fn from_name(name: &str) -> Option<Scope> {
        Some(match name.to_ascii_lowercase().as_str() {
            "global" => Scope::Global,
            "host" => Scope::Host,
            "program" => Scope::Program,
            "process" => Scope::Process,
            _ => return None,
        })
    }
}

/// What a generated message starts from (`inherit-mode()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InheritMode {
    /// A new message with the triggering message's time stamp.
    #[default]
    None,
    LastMessage,
    Context,
}

impl InheritMode {
    pub fn from_name(name: &str) -> Option<InheritMode> {
        Some(match name.to_ascii_lowercase().as_str() {
            "none" => InheritMode::None,
            "last-message" => InheritMode::LastMessage,
            "context" => InheritMode::Context,
            _ => return None,
        })
    }
}

/// Tags and values a rule adds to a message, or an action's generated message.
#[derive(Debug, Default)]
pub struct Synthetic {
    pub tags: Vec<TagId>,
    pub values: Vec<(String, Arc<Template>)>,
    pub inherit: InheritMode,
}

/// `context-id`, `context-timeout`, `context-scope` of a rule or `<create-context>`.
#[derive(Debug, Default)]
pub struct SyntheticContext {
    pub id: Option<Arc<Template>>,
    pub timeout: i64,
    pub scope: Scope,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Match,
    Timeout,
}

#[derive(Debug)]
pub enum ActionContent {
    None,
    Message(Synthetic),
    CreateContext(SyntheticContext, Synthetic),
}

#[derive(Debug)]
pub struct Action {
    /// Its place among the rule's actions (rate limits are per action).
    pub id: usize,
    pub trigger: Trigger,
    pub condition: Option<Arc<Filter>>,
    /// `rate="N/Q"`: at most N messages per Q seconds.
    pub rate: Option<(u32, u32)>,
    pub content: ActionContent,
}

#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub class: Option<String>,
    pub msg: Synthetic,
    pub context: SyntheticContext,
    pub actions: Vec<Action>,
}

impl Rule {
    fn new(id: &str) -> Rule {
        Rule {
            id: id.to_string(),
            class: None,
            msg: Synthetic::default(),
            context: SyntheticContext::default(),
            actions: Vec::new(),
        }
    }
}

/// The rules of one set of program names.
#[derive(Debug)]
pub struct Program {
    pub rules: Node,
}

/// An `<example>`: a message and the values it should get (`pdbtool test`).
#[derive(Debug)]
pub struct Example {
    pub rule: usize,
    pub program: Option<String>,
    pub message: String,
    pub values: Vec<(String, String)>,
}

/// A loaded patterndb file.
#[derive(Debug)]
pub struct RuleSet {
    pub version: String,
    pub pub_date: Option<String>,
    /// Program patterns → index in `program_list`; the root leads to program 0, the rules of
    /// rulesets without a program pattern.
    pub programs: Node,
    pub program_list: Vec<Program>,
    pub rules: Vec<Rule>,
    pub examples: Vec<Example>,
    /// No `<ruleset>`: syslog-ng then leaves messages alone.
    pub is_empty: bool,
    /// What syslog-ng logs and carries on after.
    pub warnings: Vec<String>,
    /// Value names in the order syslog-ng registers them while loading (`pdbtool match` prints
    /// values in that order).
    pub name_order: Vec<String>,
}

impl RuleSet {
    fn new() -> RuleSet {
        let mut programs = Node::root();
        programs.value = Some(0);
        let mut set = RuleSet {
            version: String::new(),
            pub_date: None,
            programs,
            program_list: vec![Program { rules: Node::root() }],
            rules: Vec::new(),
            examples: Vec::new(),
            is_empty: true,
            warnings: Vec::new(),
            name_order: Vec::new(),
        };
        for n in [CONTEXT_ID, CLASS, RULE_ID] {
            set.register_name(n);
        }
        // syslog-ng registers these tags before any file is read, which orders them first.
        TagId::intern(".classifier.system");
        TagId::intern(".classifier.unknown");
        set
    }

    fn add_program(&mut self) -> usize {
        self.program_list.push(Program { rules: Node::root() });
        self.program_list.len() - 1
    }

    fn register_name(&mut self, name: &str) {
        if !self.name_order.iter().any(|n| n == name) {
            self.name_order.push(name.to_string());
        }
    }

    fn register_template_names(&mut self, t: &Template) {
        let mut names = Vec::new();
        load::template_names(t, &mut names);
        for n in names {
            self.register_name(&n);
        }
    }

    /// The rule `program` and `message` match, with what its parsers took (name, value).
    pub fn lookup<'s>(&'s self, program: &[u8], message: &[u8]) -> Lookup<'s> {
        let mut prg_matches = Vec::new();
        let Some(p) = self.programs.find(program, &mut prg_matches) else {
            return Lookup { program_values: Vec::new(), rule: None, values: Vec::new(), program_found: false };
        };
        let program_values = stored(&prg_matches, program);
        let mut matches = Vec::new();
        let rule = self.program_list[p].rules.find(message, &mut matches);
        let values = if rule.is_some() { stored(&matches, message) } else { Vec::new() };
        Lookup { program_values, rule: rule.map(|r| (r, &self.rules[r])), values, program_found: true }
    }

    /// Every rule whose pattern matches all of `message` (`pdbtool test`'s conflict check).
    pub fn all_matching(&self, program: &[u8], message: &[u8]) -> Vec<&str> {
        let Some(p) = self.programs.find(program, &mut Vec::new()) else { return Vec::new() };
        self.program_list[p].rules.find_all(message).into_iter().map(|r| self.rules[r].id.as_str()).collect()
    }
}

fn stored<'t>(matches: &[radix::Match<'t>], input: &[u8]) -> Vec<(&'t str, Vec<u8>)> {
    matches
        .iter()
        .filter_map(|m| {
            let name = m.parser.store_name()?;
            let end = (m.ofs + m.len).min(input.len());
            Some((name, input[m.ofs.min(end)..end].to_vec()))
        })
        .collect()
}

/// The result of [`RuleSet::lookup`].
pub struct Lookup<'s> {
    pub program_values: Vec<(&'s str, Vec<u8>)>,
    /// The rule and its index in [`RuleSet::rules`].
    pub rule: Option<(usize, &'s Rule)>,
    pub values: Vec<(&'s str, Vec<u8>)>,
    pub program_found: bool,
}

const CLASS: &str = ".classifier.class";
const RULE_ID: &str = ".classifier.rule_id";
const CONTEXT_ID: &str = ".classifier.context_id";

/// The names of the parsers of `pattern`, in order (registered when the pattern is inserted).
fn parser_names(pattern: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = pattern.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'@' {
            if b.get(i + 1) == Some(&b'@') {
                i += 2;
                continue;
            }
            let Some(end) = b[i + 1..].iter().position(|&c| c == b'@') else { break };
            let spec = &pattern[i + 1..i + 1 + end];
            if let Some(name) = spec.split(':').nth(1).filter(|n| !n.is_empty()) {
                out.push(name.to_string());
            }
            i += end + 2;
        } else {
            i += 1;
        }
    }
    out
}

/// Where a message came from, for context keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    scope_parts: Vec<Vec<u8>>,
    id: Vec<u8>,
}

impl Key {
    fn new(scope: Scope, msg: &LogMessage, id: Vec<u8>) -> Key {
        let names: &[&str] = match scope {
            Scope::Global => &[],
            Scope::Host => &["HOST"],
            Scope::Program => &["HOST", "PROGRAM"],
            Scope::Process => &["HOST", "PROGRAM", "PID"],
        };
        Key { scope_parts: names.iter().map(|n| msg.get(n).unwrap_or(b"").to_vec()).collect(), id }
    }
}

struct Context {
    messages: Vec<LogMessage>,
    /// The rule set the context's rule is in: a reloaded file leaves the rules of the contexts
    /// it found open as they were, as syslog-ng's contexts hold on to their rule.
    set: Arc<RuleSet>,
    rule: usize,
    scope: Scope,
    expires: u64,
    /// Creation order, which orders contexts expiring in the same second.
    seq: u64,
}

/// The correlation state: the clock, the open contexts and the rate limits.
pub struct Correlation {
    /// The correlation clock (seconds): moved on by message stamps and by timer ticks.
    now: u64,
    /// System time (microseconds) the clock was last moved at: a tick moves it on by the whole
    /// seconds passed since.
    last_tick: i64,
    contexts: HashMap<Key, Context>,
    rates: HashMap<(Key, usize), (u64, u32)>,
    seq: u64,
}

impl Default for Correlation {
    fn default() -> Self {
        Correlation { now: 0, last_tick: system_micros(), contexts: HashMap::new(), rates: HashMap::new(), seq: 0 }
    }
}

impl Correlation {
    /// How many correlation contexts are open.
    pub fn open_contexts(&self) -> usize {
        self.contexts.len()
    }
}

/// A correlation state that a reloaded configuration takes over, as syslog-ng keeps a
/// `db-parser()`'s state across reloads.
pub type SharedCorrelation = Arc<Mutex<Correlation>>;

fn system_micros() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    now.as_micros() as i64
}

/// A rule set with its correlation state: what `db-parser()` runs.
pub struct PatternDb {
    set: Arc<RuleSet>,
    state: SharedCorrelation,
    opts: FormatOptions,
}

impl std::fmt::Debug for PatternDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatternDb").field("rules", &self.set.rules.len()).finish()
    }
}

thread_local! {
    static SCRATCH: std::cell::RefCell<FilterScratch> = std::cell::RefCell::new(FilterScratch::new());
}

impl PatternDb {
    pub fn new(set: RuleSet, opts: FormatOptions) -> PatternDb {
        PatternDb::with_state(set, opts, SharedCorrelation::default())
    }

    /// A rule set that goes on with correlation state `state` (a reload).
    pub fn with_state(set: RuleSet, opts: FormatOptions, state: SharedCorrelation) -> PatternDb {
        PatternDb { set: Arc::new(set), state, opts }
    }

    /// The correlation state, to hand over to the next configuration.
    pub fn state(&self) -> &SharedCorrelation {
        &self.state
    }

    pub fn rule_set(&self) -> &RuleSet {
        &self.set
    }

    /// Replaces the rules (a reloaded file); the correlation contexts stay.
    pub fn replace(&mut self, set: RuleSet) {
        self.set = Arc::new(set);
    }

    /// Classifies `msg` by `program` and `message`. Messages the rule's actions generate, and
    /// those of contexts that expired because time moved on, are appended to `emitted`.
    /// Returns whether a rule matched.
    pub fn process(&self, msg: &mut LogMessage, program: &[u8], message: &[u8], emitted: &mut Vec<LogMessage>) -> bool {
        let set = &*self.set;
        if set.is_empty {
            return false;
        }
        let found = set.lookup(program, message);
        if !found.program_found {
            return false;
        }
        let Some((rule_index, rule)) = found.rule else {
            msg.set_value(CLASS, b"unknown");
            msg.set_tag(TagId::intern(".classifier.unknown"));
            self.advance_time(msg.stamp().sec, emitted);
            return false;
        };
        msg.set_value(CLASS, rule.class.as_deref().unwrap_or("system").as_bytes());
        msg.set_value(RULE_ID, rule.id.as_bytes());
        for (name, value) in found.program_values.iter().chain(found.values.iter()) {
            msg.set_value(name, value);
        }
        if rule.class.is_none() {
            msg.set_tag(TagId::intern(".classifier.system"));
        }
        msg.clear_tag(TagId::intern(".classifier.unknown"));
        self.advance_time(msg.stamp().sec, emitted);
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut key = None;
        if let Some(t) = &rule.context.id {
            let mut id = Vec::new();
            let _ = t.format(msg, &self.opts, &mut id);
            msg.set_value(CONTEXT_ID, &id);
            let k = Key::new(rule.context.scope, msg, id);
            let expires = state.now.saturating_add(rule.context.timeout.max(0) as u64);
            state.seq += 1;
            let seq = state.seq;
            let ctx = state.contexts.entry(k.clone()).or_insert_with(|| Context {
                messages: Vec::new(),
                set: self.set.clone(),
                rule: rule_index,
                scope: rule.context.scope,
                expires,
                seq,
            });
            // A timer moved to a new second goes behind the others of that second.
            if ctx.expires != expires {
                ctx.seq = seq;
            }
            ctx.expires = expires;
            ctx.rule = rule_index;
            if !Arc::ptr_eq(&ctx.set, &self.set) {
                ctx.set = self.set.clone();
            }
            key = Some(k);
        }
        let before: Vec<LogMessage> =
            key.as_ref().and_then(|k| state.contexts.get(k)).map(|c| c.messages.clone()).unwrap_or_default();
        apply(&rule.msg, &before, msg, &self.opts);
        if let Some(k) = &key {
            if let Some(ctx) = state.contexts.get_mut(k) {
                ctx.messages.push(msg.clone());
            }
        }
        self.run_actions(&mut state, &self.set, rule_index, key.as_ref(), msg, Trigger::Match, emitted);
        true
    }

    #[allow(clippy::too_many_arguments)]
    fn run_actions(
        &self,
        state: &mut Correlation,
        set: &Arc<RuleSet>,
        rule_index: usize,
        key: Option<&Key>,
        msg: &LogMessage,
        trigger: Trigger,
        emitted: &mut Vec<LogMessage>,
    ) {
        let Some(rule) = set.rules.get(rule_index) else { return };
        for action in rule.actions.iter().filter(|a| a.trigger == trigger) {
            if let Some(cond) = &action.condition {
                let eval = |m: &LogMessage| SCRATCH.with(|s| cond.eval(m, &mut s.borrow_mut()));
                let passed = match key.and_then(|k| state.contexts.get(k)).filter(|c| !c.messages.is_empty()) {
                    // In a context the condition reads its last message, and `@N` the others.
                    Some(c) => crate::template::in_context(&c.messages, || eval(&c.messages[c.messages.len() - 1])),
                    None => eval(msg),
                };
                if !passed {
                    continue;
                }
            }
            if let Some((rate, quantum)) = action.rate {
                let rk =
                    (Key::new(rule.context.scope, msg, format!("{}:{}", rule.id, action.id).into_bytes()), action.id);
                let now = state.now;
                let entry = state.rates.entry(rk).or_insert((0, 0));
                if entry.0 == 0 {
                    *entry = (now, rate);
                } else {
                    let credits =
                        ((now.saturating_sub(entry.0)) << 8) / ((u64::from(quantum) << 8) / u64::from(rate)).max(1);
                    if credits > 0 {
                        entry.1 = (entry.1 as u64 + credits).min(u64::from(rate)) as u32;
                        entry.0 = now;
                    }
                }
                if entry.1 == 0 {
                    continue;
                }
                entry.1 -= 1;
            }
            let context_msgs: Option<Vec<LogMessage>> =
                key.and_then(|k| state.contexts.get(k)).map(|c| c.messages.clone());
            match &action.content {
                ActionContent::None => {}
                ActionContent::Message(syn) => {
                    let scope = key.and_then(|k| state.contexts.get(k)).map(|c| c.scope);
                    let gen = generate(syn, context_msgs.as_deref(), scope, msg, &self.opts);
                    emitted.push(gen);
                }
                ActionContent::CreateContext(ctx, syn) => {
                    let scope = key.and_then(|k| state.contexts.get(k)).map(|c| c.scope);
                    let gen = generate(syn, context_msgs.as_deref(), scope, msg, &self.opts);
                    let mut id = Vec::new();
                    if let Some(t) = &ctx.id {
                        match &context_msgs {
                            Some(m) => {
                                let _ = t.format_with_context(m, &self.opts, &mut id);
                            }
                            None => {
                                let _ = t.format(msg, &self.opts, &mut id);
                            }
                        }
                    }
                    let k = Key::new(ctx.scope, &gen, id);
                    state.seq += 1;
                    // The new context lives as long as the rule's own timeout says.
                    let expires = state.now.saturating_add(rule.context.timeout.max(0) as u64);
                    let seq = state.seq;
                    state.contexts.insert(
                        k,
                        Context {
                            messages: vec![gen],
                            set: set.clone(),
                            rule: rule_index,
                            scope: ctx.scope,
                            expires,
                            seq,
                        },
                    );
                }
            }
        }
    }

    /// Moves the correlation clock to `sec` (never past the system clock, never backwards) and
    /// runs the timeout actions of the contexts that expired.
    fn advance_time(&self, sec: i64, emitted: &mut Vec<LogMessage>) {
        let system = UnixTime::now(&jiff::tz::TimeZone::UTC).sec;
        let target = sec.min(system).max(0) as u64;
        self.set_time(target, emitted);
    }

    fn set_time(&self, target: u64, emitted: &mut Vec<LogMessage>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.last_tick = system_micros();
        self.move_clock(&mut state, target, emitted);
    }

    /// Moves the clock forward to `target`, running the timeout actions of the contexts whose
    /// second has passed (a context set to expire at second T expires once the clock is past T,
    /// as in syslog-ng's timer wheel).
    fn move_clock(&self, state: &mut Correlation, target: u64, emitted: &mut Vec<LogMessage>) {
        if target <= state.now && state.now != 0 {
            return;
        }
        state.now = target;
        self.expire(state, |c| c.expires < target, emitted);
    }

    /// The timer: moves the clock on by the whole seconds of system time passed since it last
    /// moved (syslog-ng's `db-parser()` does this about once a second), so that contexts expire
    /// when no message comes. Returns whether the clock moved.
    pub fn tick(&self, emitted: &mut Vec<LogMessage>) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = system_micros();
        let passed = now - state.last_tick;
        if passed > 1_000_000 {
            let seconds = passed / 1_000_000;
            // The fraction of a second not counted now counts at the next tick.
            state.last_tick = now - (passed - seconds * 1_000_000);
            let target = state.now + seconds as u64;
            self.move_clock(&mut state, target, emitted);
            true
        } else {
            if passed < 0 {
                // The system clock went back: wait for it rather than move the clock back.
                state.last_tick = now;
            }
            false
        }
    }

    /// Expires every context (`pdbtool match` at the end of its input).
    pub fn expire_all(&self, emitted: &mut Vec<LogMessage>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        self.expire(&mut state, |_| true, emitted);
    }

    fn expire(&self, state: &mut Correlation, which: impl Fn(&Context) -> bool, emitted: &mut Vec<LogMessage>) {
        let mut due: Vec<Key> = state.contexts.iter().filter(|(_, c)| which(c)).map(|(k, _)| k.clone()).collect();
        due.sort_by_key(|k| state.contexts.get(k).map(|c| (c.expires, c.seq)));
        for k in due {
            let Some(ctx) = state.contexts.get(&k) else { continue };
            let (set, rule) = (ctx.set.clone(), ctx.rule);
            let Some(last) = ctx.messages.last().cloned() else { continue };
            self.run_actions(state, &set, rule, Some(&k), &last, Trigger::Timeout, emitted);
            state.contexts.remove(&k);
        }
    }
}

/// Sets the tags and values of `syn` on `msg`; the values are formatted in the correlation
/// context of `before` (older messages) and `msg`.
fn apply(syn: &Synthetic, before: &[LogMessage], msg: &mut LogMessage, opts: &FormatOptions) {
    for &tag in &syn.tags {
        msg.set_tag(tag);
    }
    let mut buf = Vec::new();
    let mut context = before.to_vec();
    for (name, t) in &syn.values {
        buf.clear();
        if before.is_empty() {
            let _ = t.format(msg, opts, &mut buf);
        } else {
            context.truncate(before.len());
            context.push(msg.clone());
            let _ = t.format_with_context(&context, opts, &mut buf);
        }
        msg.set_value(name, &buf);
    }
}

/// The message an action generates.
fn generate(
    syn: &Synthetic,
    context: Option<&[LogMessage]>,
    scope: Option<Scope>,
    trigger: &LogMessage,
    opts: &FormatOptions,
) -> LogMessage {
    let last = context.and_then(|c| c.last()).unwrap_or(trigger);
    let mut gen = match syn.inherit {
        InheritMode::Context if context.is_some() => {
            // The last message, with the values only older messages of the context have.
            let mut m = last.clone();
            for older in context.unwrap_or_default().iter().rev() {
                let missing: Vec<(String, Vec<u8>)> = older
                    .values()
                    .map(|(name, value)| (value_name(name), value))
                    .filter(|(name, _)| m.get(name).is_none())
                    .map(|(name, value)| (name, value.to_vec()))
                    .collect();
                for (name, value) in missing {
                    m.set_value(&name, &value);
                }
            }
            m
        }
        InheritMode::LastMessage | InheritMode::Context => last.clone(),
        InheritMode::None => {
            let mut info = ReceiveInfo::new("", "", None, jiff::tz::TimeZone::system());
            info.local = true;
            let mut m = LogMessage::new(&info);
            // A new message belongs to no source.
            m.clear_tag(info.source_tag);
            m.set_stamp(last.stamp());
            m
        }
    };
    if let (Some(_), Some(scope)) = (context, scope) {
        // The generated message carries what the context is keyed by.
        let names: &[&str] = match scope {
            Scope::Global => &[],
            Scope::Host => &["HOST"],
            Scope::Program => &["PROGRAM", "HOST"],
            Scope::Process => &["PID", "PROGRAM", "HOST"],
        };
        for n in names {
            let v = last.get(n).unwrap_or(b"").to_vec();
            gen.set_value(n, &v);
        }
    }
    // Without a context the action sees the triggering message and the generated one.
    let single = [trigger.clone()];
    apply(syn, context.unwrap_or(&single), &mut gen, opts);
    gen
}

fn value_name(name: ValueName<'_>) -> String {
    match name {
        ValueName::Builtin(n) => n.to_string(),
        ValueName::Sdata { id, param: [] } => format!(".SDATA.{}", String::from_utf8_lossy(id)),
        ValueName::Sdata { id, param } => {
            format!(".SDATA.{}.{}", String::from_utf8_lossy(id), String::from_utf8_lossy(param))
        }
        ValueName::Pair(n) => String::from_utf8_lossy(n).into_owned(),
    }
}
