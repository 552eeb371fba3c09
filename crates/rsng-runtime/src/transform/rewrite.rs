//! Rewrite rules from their IR drivers: `set() unset() subst() groupset() groupunset() set-tag()
//! clear-tag() rename() set-pri() set-severity() set-facility() set-matches() unset-matches()`,
//! each with `condition()`.

use rsng_config::filter_compile::compile_filter;
use rsng_config::ir::{Driver, Value};
use rsng_core::filter::{MatcherFlags, MatcherType};
use rsng_core::message::TagId;
use rsng_core::rewrite::{GroupSet, PriPart, Rename, Rewrite, Set, SetMatches, SetPri, SetTag, Subst, TagName, Unset};

use super::options::{FormatSettings, MatcherOptions, RewriteOptions};
use super::{
    format_options, global_format_options, positional, template, RewriteStep, Transform, TransformContext, ZoneUse,
};
use crate::BuildError;

/// The value a rule changes: `value("NAME")`, default `MESSAGE`. A leading `$` is dropped, as
/// syslog-ng does (with a warning).
fn value_name(o: &RewriteOptions) -> String {
    let name = o.value.as_deref().unwrap_or("MESSAGE");
    name.strip_prefix('$').unwrap_or(name).to_string()
}

fn required<'d>(driver: &'d Driver, i: usize, what: &str) -> Result<&'d str, BuildError> {
    positional(driver, i).ok_or_else(|| BuildError::at(format!("`{}()` needs a {what}", driver.name), &driver.span))
}

pub(super) fn build(driver: &Driver, ctx: &TransformContext<'_>) -> Result<Box<dyn Transform>, BuildError> {
    let globals = global_format_options(ctx)?;
    let o = RewriteOptions::read(&ctx.options(driver));
    let rewrite = match driver.name {
        "set" => {
            let text = required(driver, 0, "template")?;
            let opts = format_options(&FormatSettings::read(&ctx.options(driver)), ZoneUse::Send)?;
            Rewrite::Set(Set::new(&value_name(&o), template(driver, text, ctx)?, opts))
        }
        "unset" => Rewrite::Unset(Unset::new(&value_name(&o))),
        "subst" => subst(driver, &o, ctx, globals)?,
        "set-tag" | "clear-tag" => {
            let text = required(driver, 0, "tag")?;
            let t = template(driver, text, ctx)?;
            let tag = match t.as_literal() {
                Some(name) => TagName::Fixed(TagId::intern(name)),
                None => TagName::Template(t, globals),
            };
            Rewrite::SetTag(SetTag::new(tag, driver.name == "set-tag"))
        }
        "groupset" | "groupunset" => {
            let text = if driver.name == "groupset" { Some(required(driver, 0, "template")?) } else { None };
            let g = GroupSet::new(&o.values, text, ctx.compile, globals).map_err(|e| {
                BuildError::at(format!("error compiling template of `{}()`: {e}", driver.name), &driver.span)
            })?;
            Rewrite::GroupSet(g)
        }
        "rename" => {
            let from = required(driver, 0, "old name")?;
            let to = required(driver, 1, "new name")?;
            if from.is_empty() || to.is_empty() {
                return Err(BuildError::at("rename(from to): requires two non-empty arguments", &driver.span));
            }
            Rewrite::Rename(Rename::new(from, to))
        }
        "set-pri" | "set-severity" | "set-facility" => {
            let part = match driver.name {
                "set-pri" => PriPart::Pri,
                "set-severity" => PriPart::Severity,
                _ => PriPart::Facility,
            };
            let text = required(driver, 0, "template")?;
            Rewrite::SetPri(SetPri::new(part, template(driver, text, ctx)?, globals))
        }
        "set-matches" => {
            let text = required(driver, 0, "template")?;
            let opts = format_options(&FormatSettings::read(&ctx.options(driver)), ZoneUse::Send)?;
            Rewrite::SetMatches(SetMatches::new(template(driver, text, ctx)?, opts))
        }
        "unset-matches" => Rewrite::UnsetMatches,
        other => {
            return Err(BuildError::at(format!("the rewrite rule `{other}()` cannot run in rsng yet"), &driver.span));
        }
    };
    let condition = match &o.condition {
        Some(Value::Filter(expr)) => Some(compile_filter(ctx.config, expr, ctx.filters).map_err(|e| {
            BuildError::at(format!("error compiling the condition of `{}()`: {}", driver.name, e.message), &driver.span)
        })?),
        _ => None,
    };
    Ok(Box::new(RewriteStep { rewrite, condition }))
}

/// The matcher settings of `type()` (default `pcre`) and `flags()`.
pub(super) fn matcher(driver: &Driver, ctx: &TransformContext<'_>) -> Result<(MatcherType, MatcherFlags), BuildError> {
    let o = MatcherOptions::read(&ctx.options(driver));
    let kind = match o.kind.as_deref() {
        Some(name) => MatcherType::from_name(name).ok_or_else(|| {
            BuildError::at(format!("unknown matcher type \"{name}\" in `{}()`", driver.name), &driver.span)
        })?,
        None => MatcherType::Pcre,
    };
    let mut flags = MatcherFlags::default();
    if let Some(words) = &o.flags {
        for f in words.value.iter() {
            if !flags.set(f) {
                return Err(BuildError::at(
                    format!("unknown matcher flag \"{f}\" in `{}()`", driver.name),
                    &words.span,
                ));
            }
        }
    }
    Ok((kind, flags))
}

fn subst(
    driver: &Driver,
    o: &RewriteOptions,
    ctx: &TransformContext<'_>,
    globals: rsng_core::template::FormatOptions,
) -> Result<Rewrite, BuildError> {
    let pattern = required(driver, 0, "pattern")?;
    let replacement = required(driver, 1, "replacement")?;
    let (kind, flags) = matcher(driver, ctx)?;
    if kind == MatcherType::Glob {
        return Err(BuildError::at(
            "error compiling search pattern: subst() only supports matchers that allow replacement, glob is not one of these",
            &driver.span,
        ));
    }
    let replacement = template(driver, replacement, ctx)?;
    let s = Subst::new(&value_name(o), pattern, kind == MatcherType::String, &flags, replacement, globals)
        .map_err(|e| BuildError::at(format!("error compiling search pattern: {e}"), &driver.span))?;
    Ok(Rewrite::Subst(s))
}
