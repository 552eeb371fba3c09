//! Log paths compiled for running: the graph builder and the router.
//!
//! Every log path becomes a list of [`Step`]s. syslog-ng's log-path semantics map onto one rule,
//! the *branch set* (syslog-ng's multiplexer): a message is offered to each branch in order; a
//! branch that lets it reach the end is a match; a matching `final` branch ends the set; the
//! `fallback` branches only see messages no other branch matched. The top-level `log` statements
//! of a source form one branch set; so do a `junction`, the embedded `log {}` statements at the
//! end of a path, and `if`/`elif`/`else` (channels ending in `flags(final)`, the last one
//! empty unless there is an `else`, exactly as syslog-ng rewrites them; the body of an
//! `if (FILTER)` counts as a match once the filter passed, whatever becomes of the message).
//!
//! What follows a branch set runs once for each branch that lets the message through, with that
//! branch's (possibly rewritten) copy: the router passes the rest of the path down as a
//! continuation, so the branches themselves stay shared and nothing is copied per message
//! except on write.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use rsng_config::filter_compile::{compile_filter, FilterMap};
use rsng_config::ir::{self, LogElement, LogPath};
use rsng_config::schema::Context;
use rsng_core::filter::{Filter, FilterScratch};
use rsng_core::LogMessage;
use rsng_drivers::{Outbox, Route};

use crate::transform::Transform;

/// One element of a compiled log path.
pub enum Step {
    /// Drops the message unless it matches; counts both outcomes from `stats-level(1)` on.
    Filter(Arc<FilterStep>),
    /// A parser or rewrite rule; a parser that fails drops the message.
    Transform(Arc<dyn Transform>),
    /// Sends a copy to these outlets (the drivers of one destination).
    Send(Vec<usize>),
    /// A branch set.
    Branches(Vec<Branch>),
    /// Runs these steps and the rest of the path, and counts as a match whatever happens there
    /// (syslog-ng's `drop-unmatched` channel, the body of `if (FILTER) {...}`: a message that
    /// passed the condition is never offered to the `elif`/`else` branches).
    Consume(Vec<Step>),
}

/// A filter in a log path, with what names it when it fails.
pub struct FilterStep {
    pub filter: Arc<Filter>,
    pub counters: Option<Arc<FilterCounters>>,
    /// `filter f_auth`, or `if (...)` for a condition written in the path.
    pub name: String,
    pub location: String,
    /// Evaluations that panicked (each dropped its message from the path).
    pub failures: std::sync::atomic::AtomicU64,
}

impl FilterStep {
    /// Whether `msg` matches. A filter that panics is reported and counts as not matching, so
    /// that one bad message cannot take the source's task down with it.
    fn matches(&self, msg: &LogMessage) -> bool {
        use std::panic::{catch_unwind, AssertUnwindSafe};
        let result = catch_unwind(AssertUnwindSafe(|| {
            rsng_drivers::fault::hit(rsng_drivers::fault::Point::Filter);
            SCRATCH.with(|s| self.filter.eval(msg, &mut s.borrow_mut()))
        }));
        result.unwrap_or_else(|payload| {
            let n = self.failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            rsng_drivers::internal::error(format!(
                "A log path step failed, the message is dropped from this path; step='{}', location='{}', error='{}', failures='{n}'",
                self.name,
                self.location,
                rsng_drivers::socket::source::panic_text(payload)
            ));
            false
        })
    }
}

/// `filter;NAME;;a;matched|not_matched;N`, kept from `stats-level(1)` on as in syslog-ng.
#[derive(Debug, Default)]
pub struct FilterCounters {
    pub matched: std::sync::atomic::AtomicU64,
    pub not_matched: std::sync::atomic::AtomicU64,
}

/// Filter object names and their counters, in the order the log paths use them.
pub type FilterStats = Vec<(String, Arc<FilterCounters>)>;

pub struct Branch {
    pub steps: Vec<Step>,
    pub final_: bool,
    pub fallback: bool,
}

/// The compiled graph: top-level paths, and which sources feed each.
pub struct Graph {
    pub top: Vec<TopPath>,
}

pub struct TopPath {
    pub branch: Branch,
    /// Source objects feeding the path (all with `catchall`).
    pub sources: Vec<String>,
    pub catchall: bool,
}

/// What the builder needs to resolve references.
pub struct Resolver<'a> {
    pub config: &'a ir::Config,
    pub filters: &'a FilterMap,
    /// Destination object → outlets (`flow_control` false, true).
    pub outlets: &'a dyn Fn(&str, bool) -> Vec<usize>,
    /// Parser/rewrite object → its transforms.
    pub transforms: &'a HashMap<(Context, String), Vec<Arc<dyn Transform>>>,
    /// Filter object → its counters, when they are kept (`stats-level(1)` and up).
    pub filter_stats: Option<&'a std::cell::RefCell<FilterStats>>,
    /// The parser and rewrite objects whose channels are being compiled, to refuse a cycle.
    pub expanding: RefCell<Vec<(Context, String)>>,
    /// `file:line:column` of a place in the configuration.
    pub locate: &'a dyn Fn(&rsng_config::source_map::FileSpan) -> String,
}

/// A reference the builder could not resolve.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct GraphError(pub String);

impl Resolver<'_> {
    pub fn build(&self) -> Result<Graph, GraphError> {
        let mut top = Vec::new();
        for path in &self.config.log_paths {
            let mut sources = Vec::new();
            for el in &path.elements {
                if let LogElement::Object { context: Context::Source, name, .. } = el {
                    sources.push(name.clone());
                }
            }
            let branch = self.branch(path, path.flags.flow_control)?;
            top.push(TopPath { branch, sources, catchall: path.flags.catchall });
        }
        self.source_channels(&mut top)?;
        Ok(Graph { top })
    }

    /// The channels of source objects (`source s { channel { source {...}; parser {...}; }; }`,
    /// as the SCL's `default-network-drivers()` is written): the sources inside a channel feed
    /// the channel's steps, then every log path that uses the enclosing source object, as one
    /// branch set.
    fn source_channels(&self, top: &mut Vec<TopPath>) -> Result<(), GraphError> {
        for object in self.config.sources.iter().filter(|o| !o.forks.is_empty()) {
            let users: Vec<&LogPath> = self
                .config
                .log_paths
                .iter()
                .filter(|p| {
                    p.elements.iter().any(
                        |el| matches!(el, LogElement::Object { context: Context::Source, name, .. } if *name == object.name),
                    )
                })
                .collect();
            if users.is_empty() {
                continue;
            }
            for (_, fork) in &object.forks {
                let sources: Vec<String> = fork
                    .elements
                    .iter()
                    .filter_map(|el| match el {
                        LogElement::Object { context: Context::Source, name, .. } => Some(name.clone()),
                        _ => None,
                    })
                    .collect();
                let flow = fork.flags.flow_control;
                let mut steps = self.steps(&fork.elements, flow)?;
                let paths = users.iter().map(|p| self.branch(p, p.flags.flow_control)).collect::<Result<_, _>>()?;
                steps.push(Step::Branches(paths));
                top.push(TopPath {
                    branch: Branch { steps, final_: false, fallback: false },
                    sources,
                    catchall: false,
                });
            }
        }
        Ok(())
    }

    fn branch(&self, path: &LogPath, flow: bool) -> Result<Branch, GraphError> {
        Ok(Branch {
            steps: self.steps(&path.elements, flow || path.flags.flow_control)?,
            final_: path.flags.final_,
            fallback: path.flags.fallback,
        })
    }

    fn steps(&self, elements: &[LogElement], flow: bool) -> Result<Vec<Step>, GraphError> {
        let mut steps = Vec::new();
        let mut forks: Vec<Branch> = Vec::new();
        for el in elements {
            if !matches!(el, LogElement::Fork(_)) && !forks.is_empty() {
                steps.push(Step::Branches(std::mem::take(&mut forks)));
            }
            match el {
                LogElement::Object { context, name, span } => match context {
                    Context::Source => {}
                    Context::Filter => {
                        let f =
                            self.filters.get(name).ok_or_else(|| GraphError(format!("undefined filter `{name}`")))?;
                        let counters = self.filter_stats.map(|list| {
                            let mut list = list.borrow_mut();
                            match list.iter().find(|(n, _)| n == name) {
                                Some((_, c)) => c.clone(),
                                None => {
                                    let c = Arc::new(FilterCounters::default());
                                    list.push((name.clone(), c.clone()));
                                    c
                                }
                            }
                        });
                        steps.push(Step::Filter(Arc::new(FilterStep {
                            filter: f.clone(),
                            counters,
                            name: format!("filter {name}"),
                            location: (self.locate)(span),
                            failures: Default::default(),
                        })));
                    }
                    Context::Destination => {
                        let outlets = (self.outlets)(name, flow);
                        steps.push(Step::Send(outlets));
                    }
                    Context::Parser | Context::Rewrite => self.object_steps(*context, name, flow, &mut steps)?,
                    other => return Err(GraphError(format!("a {} cannot be used in a log path", other.name()))),
                },
                LogElement::Fork(path) => forks.push(self.branch(path, flow)?),
                LogElement::Junction(paths) => {
                    let branches = paths.iter().map(|p| self.branch(p, flow)).collect::<Result<_, _>>()?;
                    steps.push(Step::Branches(branches));
                }
                LogElement::Conditional { branches, otherwise } => {
                    steps.push(self.conditional(branches, otherwise.as_ref(), flow)?);
                }
            }
        }
        if !forks.is_empty() {
            steps.push(Step::Branches(forks));
        }
        Ok(steps)
    }

    /// The steps of a parser or rewrite object: its drivers, with its channels where they were
    /// written. As syslog-ng compiles them: in a parser object a channel is a nested sequence;
    /// in a rewrite object the channels come after the rules and form a junction.
    fn object_steps(&self, context: Context, name: &str, flow: bool, steps: &mut Vec<Step>) -> Result<(), GraphError> {
        let list = self
            .transforms
            .get(&(context, name.to_string()))
            .ok_or_else(|| GraphError(format!("undefined {} `{name}`", context.name())))?;
        let objects = if context == Context::Parser { &self.config.parsers } else { &self.config.rewrites };
        let forks = objects.iter().rev().find(|o| o.name == name).map_or(&[][..], |o| &o.forks[..]);
        if forks.is_empty() {
            steps.extend(list.iter().map(|t| Step::Transform(t.clone())));
            return Ok(());
        }
        let key = (context, name.to_string());
        if self.expanding.borrow().contains(&key) {
            return Err(GraphError(format!("the {} `{name}` refers to itself through its channels", context.name())));
        }
        self.expanding.borrow_mut().push(key);
        if context == Context::Rewrite {
            steps.extend(list.iter().map(|t| Step::Transform(t.clone())));
            let branches = forks.iter().map(|(_, fork)| self.branch(fork, flow)).collect::<Result<_, _>>()?;
            steps.push(Step::Branches(branches));
            self.expanding.borrow_mut().pop();
            return Ok(());
        }
        let mut next = 0;
        for (before, fork) in forks {
            let before = (*before).min(list.len());
            steps.extend(list[next.min(before)..before].iter().map(|t| Step::Transform(t.clone())));
            next = before;
            steps.extend(self.steps(&fork.elements, flow || fork.flags.flow_control)?);
        }
        steps.extend(list[next..].iter().map(|t| Step::Transform(t.clone())));
        self.expanding.borrow_mut().pop();
        Ok(())
    }

    /// `if (A) {..} elif (B) {..} else {..}` as syslog-ng builds it: a branch set of final
    /// channels, `filter(A); body` then `filter(B); body` ..., then the else body (an empty
    /// channel when there is none, so unmatched messages pass on).
    fn conditional(
        &self,
        branches: &[(Option<ir::Filter>, LogPath)],
        otherwise: Option<&LogPath>,
        flow: bool,
    ) -> Result<Step, GraphError> {
        let mut out = Vec::new();
        for (cond, body) in branches {
            let mut steps = Vec::new();
            let body_steps = self.steps(&body.elements, flow || body.flags.flow_control)?;
            match cond {
                Some(cond) => {
                    let f = compile_filter(self.config, cond, self.filters).map_err(|e| GraphError(e.to_string()))?;
                    steps.push(Step::Filter(Arc::new(FilterStep {
                        filter: Arc::new(f),
                        counters: None,
                        name: "if (...)".to_string(),
                        location: body.span.as_ref().map(|s| (self.locate)(s)).unwrap_or_default(),
                        failures: Default::default(),
                    })));
                    steps.push(Step::Consume(body_steps));
                }
                // `if { ... }`: the block itself is the condition; a message it drops goes on
                // to the next branch.
                None => steps = body_steps,
            }
            out.push(Branch { steps, final_: true, fallback: false });
        }
        let else_steps = match otherwise {
            Some(body) => self.steps(&body.elements, flow || body.flags.flow_control)?,
            None => Vec::new(),
        };
        out.push(Branch { steps: else_steps, final_: true, fallback: false });
        Ok(Step::Branches(out))
    }
}

/// The rest of a path after a branch set, as a linked list on the stack.
struct Cont<'a> {
    steps: &'a [Step],
    next: Option<&'a Cont<'a>>,
}

thread_local! {
    static SCRATCH: RefCell<FilterScratch> = RefCell::new(FilterScratch::new());
}

/// The compiled paths of one source.
pub struct SourceRoute {
    pub graph: Arc<Graph>,
    /// Indices into `graph.top` of the paths this source feeds.
    pub paths: Vec<usize>,
}

impl Route for SourceRoute {
    fn route(&self, msg: LogMessage, out: &mut Outbox) {
        let top = &self.graph.top;
        branch_set(self.paths.iter().map(|&i| &top[i].branch), &msg, None, out);
    }
}

/// Offers `msg` to each branch; returns whether any matched.
fn branch_set<'a>(
    branches: impl Iterator<Item = &'a Branch> + Clone,
    msg: &LogMessage,
    cont: Option<&Cont<'_>>,
    out: &mut Outbox,
) -> bool {
    let mut delivered = false;
    let mut has_fallback = false;
    for b in branches.clone() {
        if b.fallback {
            has_fallback = true;
            continue;
        }
        if run(&b.steps, msg.clone(), cont, out) {
            delivered = true;
            if b.final_ {
                break;
            }
        }
    }
    if !delivered && has_fallback {
        for b in branches.filter(|b| b.fallback) {
            if run(&b.steps, msg.clone(), cont, out) {
                delivered = true;
                if b.final_ {
                    break;
                }
            }
        }
    }
    delivered
}

/// Runs `steps` then the continuation; returns whether the message reached the end.
fn run(steps: &[Step], mut msg: LogMessage, cont: Option<&Cont<'_>>, out: &mut Outbox) -> bool {
    for (i, step) in steps.iter().enumerate() {
        match step {
            Step::Filter(f) => {
                let ok = f.matches(&msg);
                if let Some(c) = &f.counters {
                    let counter = if ok { &c.matched } else { &c.not_matched };
                    counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                if !ok {
                    return false;
                }
            }
            Step::Transform(t) => {
                let mut emitted = Vec::new();
                let passed = t.process_emitting(&mut msg, &mut emitted);
                // Generated messages (db-parser() actions) go on from here, ahead of `msg`.
                for generated in emitted {
                    run(&steps[i + 1..], generated, cont, out);
                }
                if !passed {
                    return false;
                }
            }
            Step::Send(outlets) => {
                for &o in outlets {
                    out.send(o, msg.clone());
                }
            }
            Step::Branches(branches) => {
                let rest = Cont { steps: &steps[i + 1..], next: cont };
                return branch_set(branches.iter(), &msg, Some(&rest), out);
            }
            Step::Consume(inner) => {
                let rest = Cont { steps: &steps[i + 1..], next: cont };
                run(inner, msg, Some(&rest), out);
                return true;
            }
        }
    }
    match cont {
        Some(c) => run(c.steps, msg, c.next, out),
        None => true,
    }
}

/// The log paths after one step: where the messages a step makes on its own (a `db-parser()`
/// context timing out) go on, as the messages it makes while processing one do.
pub struct StepRoute {
    pub graph: Arc<Graph>,
    pub step: Arc<dyn Transform>,
}

impl Route for StepRoute {
    fn route(&self, msg: LogMessage, out: &mut Outbox) {
        // A parser object used in several paths shares its state: its messages go on after its
        // first use.
        for top in &self.graph.top {
            if run_after(&top.branch.steps, &self.step, &msg, None, out) {
                return;
            }
        }
    }
}

/// Runs `msg` through what follows `target` when `target` is among `steps` (or nested in them);
/// returns whether it was found.
fn run_after(
    steps: &[Step],
    target: &Arc<dyn Transform>,
    msg: &LogMessage,
    cont: Option<&Cont<'_>>,
    out: &mut Outbox,
) -> bool {
    for (i, step) in steps.iter().enumerate() {
        match step {
            Step::Transform(t) if std::ptr::addr_eq(Arc::as_ptr(t), Arc::as_ptr(target)) => {
                run(&steps[i + 1..], msg.clone(), cont, out);
                return true;
            }
            Step::Branches(branches) => {
                let rest = Cont { steps: &steps[i + 1..], next: cont };
                if branches.iter().any(|b| run_after(&b.steps, target, msg, Some(&rest), out)) {
                    return true;
                }
            }
            Step::Consume(inner) => {
                let rest = Cont { steps: &steps[i + 1..], next: cont };
                if run_after(inner, target, msg, Some(&rest), out) {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}
