//! The syntax tree: what the user wrote, with spans into the preprocessed text.

use std::borrow::Cow;
use std::ops::Range;

pub type Span = Range<usize>;

/// A piece of text with its span: a name, a word, or a decoded string.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

/// A word or a quoted string, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Text<'a> {
    pub value: Cow<'a, str>,
    pub quoted: bool,
    pub span: Span,
}

#[derive(Debug, Default)]
pub struct Config<'a> {
    pub statements: Vec<Statement<'a>>,
}

#[derive(Debug)]
pub enum Statement<'a> {
    Object(ObjectDef<'a>),
    Filter(FilterDef<'a>),
    Log(LogPath<'a>),
    Options(Vec<Call<'a>>, Span),
    Template(TemplateDef<'a>),
    TemplateFunction { name: Text<'a>, body: Text<'a>, span: Span },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    Source,
    Destination,
    Parser,
    Rewrite,
    Filter,
}

impl ObjectKind {
    pub fn name(self) -> &'static str {
        match self {
            ObjectKind::Source => "source",
            ObjectKind::Destination => "destination",
            ObjectKind::Parser => "parser",
            ObjectKind::Rewrite => "rewrite",
            ObjectKind::Filter => "filter",
        }
    }
}

/// `source|destination|parser|rewrite NAME { items };`
#[derive(Debug)]
pub struct ObjectDef<'a> {
    pub kind: ObjectKind,
    pub name: Text<'a>,
    pub items: Vec<ObjectItem<'a>>,
    pub span: Span,
}

#[derive(Debug)]
pub enum ObjectItem<'a> {
    Driver(Call<'a>),
    /// An embedded `log {}` or `channel {}` fork.
    Path(LogPath<'a>),
    /// The name of a driver whose arguments do not parse (a syntax error follows): only the name
    /// is checked.
    Unfinished(Spanned<&'a str>),
}

/// `filter NAME { expr };`
#[derive(Debug)]
pub struct FilterDef<'a> {
    pub name: Text<'a>,
    pub expr: FilterExpr<'a>,
    pub span: Span,
}

/// `name(args ...)`.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    pub name: Spanned<&'a str>,
    pub args: Vec<Arg<'a>>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum Arg<'a> {
    Call(Call<'a>),
    Text(Text<'a>),
    /// A parenthesised group of values.
    Group(Vec<Arg<'a>>, Span),
    DotDot(Span),
    DotDotDot(Span),
    Arrow(Span),
    Condition(Box<FilterExpr<'a>>, Span),
}

impl Arg<'_> {
    pub fn span(&self) -> Span {
        match self {
            Arg::Call(c) => c.span.clone(),
            Arg::Text(t) => t.span.clone(),
            Arg::Group(_, s) | Arg::DotDot(s) | Arg::DotDotDot(s) | Arg::Arrow(s) | Arg::Condition(_, s) => s.clone(),
        }
    }
}

/// `log { ... };`, a `channel { ... }`, or an embedded fork.
#[derive(Debug)]
pub struct LogPath<'a> {
    pub items: Vec<LogItem<'a>>,
    pub flags: Vec<Text<'a>>,
    pub flags_span: Option<Span>,
    pub span: Span,
}

#[derive(Debug)]
pub enum LogItem<'a> {
    Reference { kind: ObjectKind, name: Text<'a>, span: Span },
    Inline(InlineObject<'a>),
    Conditional(Conditional<'a>),
    Junction(Vec<LogPath<'a>>, Span),
    Fork(LogPath<'a>),
}

/// An anonymous object defined in place.
#[derive(Debug)]
pub enum InlineObject<'a> {
    Filter(FilterExpr<'a>, Span),
    Object { kind: ObjectKind, items: Vec<ObjectItem<'a>>, span: Span },
}

/// `if (expr) {...} elif (expr) {...} else {...}`; a missing condition is the block form.
#[derive(Debug)]
pub struct Conditional<'a> {
    pub branches: Vec<(Option<FilterExpr<'a>>, LogPath<'a>)>,
    pub otherwise: Option<LogPath<'a>>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum FilterExpr<'a> {
    And(Vec<FilterExpr<'a>>),
    Or(Vec<FilterExpr<'a>>),
    Not(Box<FilterExpr<'a>>),
    Call(Call<'a>),
    Compare { lhs: Operand<'a>, op: Spanned<&'a str>, rhs: Operand<'a> },
}

#[derive(Debug, Clone)]
pub struct Operand<'a> {
    /// A type hint such as `int("$PID")`.
    pub type_hint: Option<Spanned<&'a str>>,
    pub text: Text<'a>,
}

/// `template NAME { template("..."); };` or `template NAME "...";`
#[derive(Debug)]
pub struct TemplateDef<'a> {
    pub name: Text<'a>,
    pub body: TemplateBody<'a>,
    pub span: Span,
}

#[derive(Debug)]
pub enum TemplateBody<'a> {
    Block(Vec<Call<'a>>),
    Simple(Arg<'a>),
}
