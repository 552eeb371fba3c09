//! Loading a patterndb XML file (schema versions 2 to 5 as syslog-ng 3.38 accepts them,
//! `modules/dbparser/pdb-load.c`). The file is parsed with `roxmltree`, then walked with the
//! same element rules as syslog-ng: which element may appear where, which attributes count,
//! which errors end the load. Every error names `file:line:col`.

use std::collections::HashMap;
use std::sync::Arc;

use roxmltree::{Document, Node as XmlNode};

use super::{Action, ActionContent, Example, InheritMode, Rule, RuleSet, Scope, Synthetic, SyntheticContext, Trigger};
use crate::message::TagId;
use crate::template::{compile, CompileContext, Elem, FuncArg, Template};

/// Loads `path`. Problems that syslog-ng only logs (duplicate patterns, unknown parsers) are in
/// [`RuleSet::warnings`].
///
/// # Errors
/// The file cannot be read, is not well-formed XML, or breaks patterndb's rules.
pub fn load_file(path: &str, ctx: &CompileContext) -> Result<RuleSet, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("Error opening classifier configuration file; filename='{path}', error='{e}'"))?;
    load_str(&text, path, ctx)
}

/// Loads patterndb XML `text`; `path` names it in errors.
///
/// # Errors
/// As [`load_file`].
pub fn load_str(text: &str, path: &str, ctx: &CompileContext) -> Result<RuleSet, String> {
    let wrap = |e: String| format!("Error parsing pattern database file; filename='{path}', error='{e}'");
    let doc = Document::parse(text).map_err(|e| wrap(format!("{path}:{}:{}: {e}", e.pos().row, e.pos().col)))?;
    let mut loader = Loader {
        path,
        doc: &doc,
        ctx,
        set: RuleSet::new(),
        ruleset_programs: Vec::new(),
        program_by_pattern: HashMap::new(),
    };
    loader.patterndb(doc.root_element()).map_err(wrap)?;
    Ok(loader.set)
}

struct Loader<'a, 'd> {
    path: &'a str,
    doc: &'d Document<'d>,
    ctx: &'a CompileContext,
    set: RuleSet,
    /// Program patterns in the order first seen, with their program.
    ruleset_programs: Vec<(String, usize, String)>,
    program_by_pattern: HashMap<String, usize>,
}

/// An element that only groups others (`<patterns>`, `<tags>`, ...): its children count as the
/// parent's.
fn flatten<'d, 'i>(node: XmlNode<'d, 'i>, groups: &'static [&'static str]) -> Vec<XmlNode<'d, 'i>> {
    let mut out = Vec::new();
    for child in node.children() {
        if child.is_element() && groups.contains(&child.tag_name().name()) {
            out.extend(flatten(child, groups));
        } else {
            out.push(child);
        }
    }
    out
}

fn text_of(node: XmlNode<'_, '_>) -> Option<String> {
    let t: String = node.children().filter(|c| c.is_text()).filter_map(|c| c.text()).collect();
    (!t.is_empty()).then_some(t)
}

/// The value of the first attribute when it is `name` (syslog-ng looks only there).
fn first_attr_name(node: XmlNode<'_, '_>) -> Option<String> {
    node.attributes().next().filter(|a| a.name() == "name").map(|a| a.value().to_string())
}

impl<'d> Loader<'_, 'd> {
    fn at(&self, node: XmlNode<'_, '_>, msg: impl std::fmt::Display) -> String {
        let pos = self.doc.text_pos_at(node.range().start);
        format!("{}:{}:{}: {msg}", self.path, pos.row, pos.col)
    }

    /// Where a pattern is, as syslog-ng notes it: where its text ends, just past the `<` of its
    /// end tag.
    fn location(&self, node: XmlNode<'_, '_>) -> String {
        let range = node.range();
        let end_tag = self.doc.input_text()[range.clone()].rfind('<').map_or(range.start, |i| range.start + i);
        let pos = self.doc.text_pos_at(end_tag);
        format!("{}:{}:{}", self.path, pos.row, pos.col + 1)
    }

    /// Text where none belongs is an error unless it is whitespace.
    fn stray(&self, node: XmlNode<'_, '_>, state: &str) -> Result<(), String> {
        match node.text() {
            Some(t) if node.is_text() && !t.chars().all(|c| c.is_ascii_whitespace()) => {
                Err(self.at(node, format!("Unexpected text node in {state}, text=[[{t}]]")))
            }
            _ => Ok(()),
        }
    }

    fn template(&mut self, node: XmlNode<'_, '_>, text: &str, what: &str) -> Result<Arc<Template>, String> {
        let t = compile(text, self.ctx).map_err(|e| self.at(node, format!("{what}, error={e}")))?;
        self.set.register_template_names(&t);
        Ok(Arc::new(t))
    }

    fn patterndb(&mut self, root: XmlNode<'_, '_>) -> Result<(), String> {
        if root.tag_name().name() != "patterndb" {
            return Err(self.at(root, format!("Unexpected <{}> tag, expected a <patterndb>", root.tag_name().name())));
        }
        match root.attribute("version") {
            None => {
                self.set.warnings.push("patterndb version is unspecified, assuming v4 format".into());
                self.set.version = "4".into();
            }
            Some(v) => {
                let n = atoi(v);
                if n < 2 {
                    return Err(self.at(
                        root,
                        "patterndb version too old, this version of syslog-ng only supports v3 and v4 formatted \
                         patterndb files, please upgrade it using pdbtool",
                    ));
                }
                if n > 5 {
                    return Err(self.at(
                        root,
                        "patterndb version too new, this version of syslog-ng supports v3, v4 & v5 formatted \
                         patterndb files.",
                    ));
                }
                self.set.version = v.to_string();
            }
        }
        self.set.pub_date = root.attribute("pub_date").map(str::to_string);
        for child in root.children() {
            if child.is_element() {
                if child.tag_name().name() != "ruleset" {
                    return Err(
                        self.at(child, format!("Unexpected <{}> tag, expected a <ruleset>", child.tag_name().name()))
                    );
                }
                self.ruleset(child)?;
            } else {
                self.stray(child, "<patterndb>")?;
            }
        }
        // The program patterns go into the program tree once the whole file is read.
        let programs = std::mem::take(&mut self.ruleset_programs);
        for (pattern, program, location) in programs {
            self.set.programs.insert(pattern.as_bytes(), program, &location, &mut self.set.warnings);
        }
        Ok(())
    }

    fn ruleset(&mut self, node: XmlNode<'_, '_>) -> Result<(), String> {
        self.set.is_empty = false;
        let mut current: Option<usize> = None;
        let mut first_program = true;
        let mut rule_patterns: Vec<(String, usize, String)> = Vec::new();
        for child in flatten(node, &["patterns", "urls"]) {
            if !child.is_element() {
                self.stray(child, "<ruleset>")?;
                continue;
            }
            match child.tag_name().name() {
                "rules" => {
                    for rule in child.children() {
                        if !rule.is_element() {
                            self.stray(rule, "<rules>")?;
                            continue;
                        }
                        if rule.tag_name().name() != "rule" {
                            return Err(self
                                .at(rule, format!("Unexpected <{}> tag, expected a <rule>", rule.tag_name().name())));
                        }
                        self.rule(rule, &mut rule_patterns)?;
                    }
                }
                "url" | "description" => {}
                "pattern" => {
                    let Some(text) = text_of(child) else { continue };
                    if first_program {
                        let program = match self.program_by_pattern.get(&text) {
                            Some(&p) => p,
                            None => {
                                let p = self.set.add_program();
                                self.program_by_pattern.insert(text.clone(), p);
                                self.ruleset_programs.push((text.clone(), p, self.location(child)));
                                p
                            }
                        };
                        current = Some(program);
                        first_program = false;
                    } else if let Some(cur) = current {
                        match self.program_by_pattern.get(&text) {
                            None => {
                                self.program_by_pattern.insert(text.clone(), cur);
                                self.ruleset_programs.push((text.clone(), cur, self.location(child)));
                            }
                            Some(&p) if p != cur => {
                                return Err(self.at(
                                    child,
                                    format!("Joining rulesets with mismatching program name sets, program={text}"),
                                ));
                            }
                            Some(_) => {}
                        }
                    }
                }
                other => {
                    return Err(self.at(
                        child,
                        format!(
                            "Unexpected <{other}> tag, expected a <rules>, <urls>, <url>, <description>, <patterns> \
                             or <pattern>"
                        ),
                    ))
                }
            }
        }
        // Rules without a program pattern go to the program tree's root: any program.
        let program = current.unwrap_or(0);
        for (pattern, rule, location) in rule_patterns {
            for name in super::parser_names(&pattern) {
                self.set.register_name(&name);
            }
            let rules = &mut self.set.program_list[program].rules;
            rules.insert(pattern.as_bytes(), rule, &location, &mut self.set.warnings);
        }
        Ok(())
    }

    fn context_attrs(
        &mut self,
        node: XmlNode<'_, '_>,
        ctx: &mut SyntheticContext,
        rule_id: &str,
    ) -> Result<(), String> {
        for a in node.attributes() {
            match a.name() {
                "context-id" => {
                    let what = format!("Error compiling context-id template, rule={rule_id}, context-id={}", a.value());
                    ctx.id = Some(self.template(node, a.value(), &what)?);
                }
                "context-timeout" => ctx.timeout = strtol(a.value()),
                "context-scope" => {
                    ctx.scope = Scope::from_name(a.value())
                        .ok_or_else(|| self.at(node, format!("Unknown context scope: {}", a.value())))?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn rule(&mut self, node: XmlNode<'_, '_>, patterns: &mut Vec<(String, usize, String)>) -> Result<(), String> {
        let Some(id) = node.attribute("id") else {
            return Err(self.at(node, "No id attribute for rule element"));
        };
        let mut rule = Rule::new(id);
        if let Some(class) = node.attribute("class") {
            // The class tag comes first among the rule's tags.
            rule.msg.tags.push(TagId::intern(&format!(".classifier.{class}")));
            rule.class = Some(class.to_string());
        }
        let mut context = SyntheticContext::default();
        self.context_attrs(node, &mut context, id)?;
        rule.context = context;
        let index = self.set.rules.len();
        let mut examples = Vec::new();
        for child in flatten(node, &["patterns", "tags", "values", "urls"]) {
            if !child.is_element() {
                self.stray(child, "<rule>")?;
                continue;
            }
            match child.tag_name().name() {
                "pattern" => {
                    if let Some(text) = text_of(child) {
                        patterns.push((text, index, self.location(child)));
                    }
                }
                "tag" => {
                    if let Some(text) = text_of(child) {
                        rule.msg.tags.push(TagId::intern(&text));
                    }
                }
                "value" => self.value(child, &mut rule.msg, id)?,
                "description" | "url" => {}
                "actions" => {
                    for (n, action) in child.children().filter(|c| c.is_element()).enumerate() {
                        if action.tag_name().name() != "action" {
                            return Err(self.at(
                                action,
                                format!("Unexpected <{}> tag, expected a <action>", action.tag_name().name()),
                            ));
                        }
                        let a = self.action(action, n, id)?;
                        rule.actions.push(a);
                    }
                }
                "examples" => {
                    for ex in child.children() {
                        if !ex.is_element() {
                            self.stray(ex, "<examples>")?;
                            continue;
                        }
                        if ex.tag_name().name() != "example" {
                            return Err(
                                self.at(ex, format!("Unexpected <{}> tag, expected a <example>", ex.tag_name().name()))
                            );
                        }
                        examples.push(self.example(ex, index)?);
                    }
                }
                other => {
                    return Err(self.at(
                        child,
                        format!(
                            "Unexpected <{other}> tag, expected a <patterns>, <pattern>, <tags>, <tag> or <actions>"
                        ),
                    ))
                }
            }
        }
        self.set.rules.push(rule);
        self.set.examples.extend(examples);
        Ok(())
    }

    fn value(&mut self, node: XmlNode<'_, '_>, msg: &mut Synthetic, rule_id: &str) -> Result<(), String> {
        let Some(name) = first_attr_name(node) else {
            return Err(self.at(node, format!("<value> misses name attribute in rule {rule_id}")));
        };
        if let Some(text) = text_of(node) {
            let what = format!("Error compiling value template, rule={rule_id}, name={name}, value={text}");
            let t = self.template(node, &text, &what)?;
            msg.values.push((name, t));
        }
        Ok(())
    }

    fn message(&mut self, node: XmlNode<'_, '_>, rule_id: &str) -> Result<Synthetic, String> {
        let mut msg = Synthetic::default();
        for a in node.attributes() {
            match a.name() {
                "inherit-properties" => {
                    let v = a.value();
                    msg.inherit = if v.eq_ignore_ascii_case("context") {
                        InheritMode::Context
                    } else if v.starts_with(['T', 't', '1']) {
                        InheritMode::LastMessage
                    } else if v.starts_with(['F', 'f', '0']) {
                        InheritMode::None
                    } else {
                        return Err(self.at(node, format!("Unknown inherit-properties: {v}")));
                    };
                }
                "inherit-mode" => {
                    msg.inherit = InheritMode::from_name(a.value())
                        .ok_or_else(|| self.at(node, format!("Unknown inherit mode {}", a.value())))?;
                }
                _ => {}
            }
        }
        for child in flatten(node, &["values", "tags"]) {
            if !child.is_element() {
                self.stray(child, "<message>")?;
                continue;
            }
            match child.tag_name().name() {
                "value" => self.value(child, &mut msg, rule_id)?,
                "tag" => {
                    if let Some(text) = text_of(child) {
                        msg.tags.push(TagId::intern(&text));
                    }
                }
                other => {
                    return Err(self
                        .at(child, format!("Unexpected <{other}> tag, expected a <values>, <value>, <tags> or <tag>")))
                }
            }
        }
        Ok(msg)
    }

    fn action(&mut self, node: XmlNode<'_, '_>, n: usize, rule_id: &str) -> Result<Action, String> {
        let mut action =
            Action { id: n, trigger: Trigger::Match, condition: None, rate: None, content: ActionContent::None };
        for a in node.attributes() {
            match a.name() {
                "trigger" => {
                    action.trigger = match a.value() {
                        "match" => Trigger::Match,
                        "timeout" => Trigger::Timeout,
                        other => return Err(self.at(node, format!("Unknown trigger type: {other}"))),
                    }
                }
                "condition" => {
                    let compiler = self
                        .ctx
                        .filter_compiler()
                        .ok_or_else(|| self.at(node, "Error parsing conditional filter expression"))?;
                    let f = compiler(a.value())
                        .map_err(|e| self.at(node, format!("Error parsing conditional filter expression: {e}")))?;
                    action.condition = Some(Arc::new(f));
                }
                "rate" => {
                    let (r, q) = a.value().split_once('/').unwrap_or((a.value(), "1"));
                    let quantum = atoi(q).max(0);
                    action.rate = Some((atoi(r).max(0) as u32, if quantum == 0 { 1 } else { quantum as u32 }));
                    if action.rate.is_some_and(|(r, _)| r == 0) {
                        action.rate = None;
                    }
                }
                _ => {}
            }
        }
        for child in node.children() {
            if !child.is_element() {
                self.stray(child, "<action>")?;
                continue;
            }
            match child.tag_name().name() {
                "message" => action.content = ActionContent::Message(self.message(child, rule_id)?),
                "create-context" => {
                    let mut ctx = SyntheticContext::default();
                    self.context_attrs(child, &mut ctx, rule_id)?;
                    if ctx.id.is_none() {
                        return Err(self.at(
                            child,
                            format!("context-id attribute is missing from <create-context>, rule={rule_id}"),
                        ));
                    }
                    let mut msg = Synthetic::default();
                    for m in child.children() {
                        if !m.is_element() {
                            self.stray(m, "<create-context>")?;
                            continue;
                        }
                        if m.tag_name().name() != "message" {
                            return Err(
                                self.at(m, format!("Unexpected <{}> tag, expected <message>", m.tag_name().name()))
                            );
                        }
                        msg = self.message(m, rule_id)?;
                    }
                    action.content = ActionContent::CreateContext(ctx, msg);
                }
                other => {
                    return Err(
                        self.at(child, format!("Unexpected <{other}> tag, expected <message> or <create-context>"))
                    )
                }
            }
        }
        Ok(action)
    }

    fn example(&mut self, node: XmlNode<'_, '_>, rule: usize) -> Result<Example, String> {
        let mut ex = Example { rule, program: None, message: String::new(), values: Vec::new() };
        for child in node.children() {
            if !child.is_element() {
                continue;
            }
            match child.tag_name().name() {
                "test_message" => {
                    ex.program = child.attribute("program").map(str::to_string);
                    ex.message = text_of(child).unwrap_or_default();
                }
                "test_values" => {
                    for v in child.children().filter(|c| c.is_element()) {
                        if v.tag_name().name() != "test_value" {
                            return Err(
                                self.at(v, format!("Unexpected <{}> tag, expected <test_value>", v.tag_name().name()))
                            );
                        }
                        let Some(name) = first_attr_name(v) else {
                            return Err(self.at(v, "<test_value> misses name attribute"));
                        };
                        if let Some(text) = text_of(v) {
                            ex.values.push((name, text));
                        }
                    }
                }
                other => {
                    return Err(
                        self.at(child, format!("Unexpected <{other}> tag, expected a <test_message>, <test_values>"))
                    )
                }
            }
        }
        Ok(ex)
    }
}

/// C's `atoi`: leading digits after optional blanks and sign; 0 when none.
fn atoi(s: &str) -> i64 {
    let s = s.trim_start();
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let n = rest
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0i64, |n, d| n.saturating_mul(10).saturating_add(i64::from(d - b'0')));
    if neg {
        -n
    } else {
        n
    }
}

/// C's `strtol(s, NULL, 0)`: decimal, `0x` hex or leading-zero octal.
fn strtol(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (radix, digits) = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        (16, h)
    } else if t.len() > 1 && t.starts_with('0') {
        (8, &t[1..])
    } else {
        (10, t)
    };
    let end = digits.find(|c: char| !c.is_digit(radix)).unwrap_or(digits.len());
    let n = i64::from_str_radix(&digits[..end], radix).unwrap_or(0);
    if neg {
        -n
    } else {
        n
    }
}

/// The names a template reads, in the order syslog-ng registers them when it compiles it.
pub(super) fn template_names(t: &Template, out: &mut Vec<String>) {
    for e in t.elems() {
        match e {
            Elem::Value(v) => out.push(v.name.clone()),
            Elem::Func(call) => {
                for a in &call.args {
                    if let FuncArg::Template(t) = a {
                        template_names(t, out);
                    }
                }
            }
            Elem::Literal(_) => {}
        }
    }
}
